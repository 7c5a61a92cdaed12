#include "textflag.h"

// Byte vectors: '"', '\\', 0xdf (clears bit 5: '{' -> '[', '}' -> ']'),
// '[', ']'.
DATA maskconst<>+0(SB)/8, $0x2222222222222222
DATA maskconst<>+8(SB)/8, $0x2222222222222222
DATA maskconst<>+16(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA maskconst<>+24(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA maskconst<>+32(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA maskconst<>+40(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA maskconst<>+48(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA maskconst<>+56(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA maskconst<>+64(SB)/8, $0x5d5d5d5d5d5d5d5d
DATA maskconst<>+72(SB)/8, $0x5d5d5d5d5d5d5d5d
GLOBL maskconst<>(SB), (NOPTR+RODATA), $80

// CHUNK computes the four 16-bit masks of the 16 bytes at off(SI) into
// AX (quote), BX (backslash), CX (open), DX (close).
#define CHUNK(off) \
	MOVOU off(SI), X0; \
	MOVOU X0, X1; \
	PCMPEQB X8, X1; \
	PMOVMSKB X1, AX; \
	MOVOU X0, X1; \
	PCMPEQB X9, X1; \
	PMOVMSKB X1, BX; \
	PAND X10, X0; \
	MOVOU X0, X1; \
	PCMPEQB X11, X1; \
	PMOVMSKB X1, CX; \
	PCMPEQB X12, X0; \
	PMOVMSKB X0, DX

// ACC shifts the chunk masks into place and ORs them into R8..R11.
#define ACC(sh) \
	SHLQ $sh, AX; \
	SHLQ $sh, BX; \
	SHLQ $sh, CX; \
	SHLQ $sh, DX; \
	ORQ AX, R8; \
	ORQ BX, R9; \
	ORQ CX, R10; \
	ORQ DX, R11

// func masks64(p *[64]byte, m *blockMasks)
TEXT ·masks64(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVOU maskconst<>+0(SB), X8
	MOVOU maskconst<>+16(SB), X9
	MOVOU maskconst<>+32(SB), X10
	MOVOU maskconst<>+48(SB), X11
	MOVOU maskconst<>+64(SB), X12
	CHUNK(0)
	MOVQ AX, R8
	MOVQ BX, R9
	MOVQ CX, R10
	MOVQ DX, R11
	CHUNK(16)
	ACC(16)
	CHUNK(32)
	ACC(32)
	CHUNK(48)
	ACC(48)
	MOVQ m+8(FP), DI
	MOVQ R8, 0(DI)
	MOVQ R9, 8(DI)
	MOVQ R10, 16(DI)
	MOVQ R11, 24(DI)
	RET
