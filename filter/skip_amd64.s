#include "textflag.h"

// 32-byte vectors: '"', '\\', 0xdf (clears bit 5: '{' -> '[', '}' -> ']'),
// '[', ']'.
DATA skipconst<>+0(SB)/8, $0x2222222222222222
DATA skipconst<>+8(SB)/8, $0x2222222222222222
DATA skipconst<>+16(SB)/8, $0x2222222222222222
DATA skipconst<>+24(SB)/8, $0x2222222222222222
DATA skipconst<>+32(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA skipconst<>+40(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA skipconst<>+48(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA skipconst<>+56(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA skipconst<>+64(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA skipconst<>+72(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA skipconst<>+80(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA skipconst<>+88(SB)/8, $0xdfdfdfdfdfdfdfdf
DATA skipconst<>+96(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA skipconst<>+104(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA skipconst<>+112(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA skipconst<>+120(SB)/8, $0x5b5b5b5b5b5b5b5b
DATA skipconst<>+128(SB)/8, $0x5d5d5d5d5d5d5d5d
DATA skipconst<>+136(SB)/8, $0x5d5d5d5d5d5d5d5d
DATA skipconst<>+144(SB)/8, $0x5d5d5d5d5d5d5d5d
DATA skipconst<>+152(SB)/8, $0x5d5d5d5d5d5d5d5d
GLOBL skipconst<>(SB), (NOPTR+RODATA), $160

// MASK2 compares Y0 and Y1 (64 bytes) with the vector in reg and leaves the
// 64-bit mask of equal bytes in out (tmp is clobbered).
#define MASK2(reg, out, tmp) \
	VPCMPEQB reg, Y0, Y2; \
	VPMOVMSKB Y2, out; \
	VPCMPEQB reg, Y1, Y3; \
	VPMOVMSKB Y3, tmp; \
	SHLQ $32, tmp; \
	ORQ tmp, out

// func skipBlocks(p *byte, n int, depth int, inStr uint64) (adv int, d int, ins uint64)
//
// skipContainer's block step over whole 64-byte blocks (AVX2, PCLMULQDQ,
// POPCNT): it stops before a block with a backslash and before the last
// n%64 bytes, or at the bracket that closes the container (d = 0, adv just
// after it). A block in which the depth may reach zero is read bracket by
// bracket.
TEXT ·skipBlocks(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ depth+16(FP), DX
	MOVQ inStr+24(FP), R8
	XORQ AX, AX
	VMOVDQU skipconst<>+0(SB), Y8
	VMOVDQU skipconst<>+32(SB), Y9
	VMOVDQU skipconst<>+64(SB), Y11
	VMOVDQU skipconst<>+96(SB), Y12
	VMOVDQU skipconst<>+128(SB), Y13
	MOVQ $-1, R9
	VMOVQ R9, X10

loop:
	CMPQ CX, $64
	JLT done
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU 32(SI)(AX*1), Y1
	VPCMPEQB Y9, Y0, Y2
	VPCMPEQB Y9, Y1, Y3
	VPOR Y2, Y3, Y4
	VPTEST Y4, Y4
	JNZ done // a backslash

	MASK2(Y8, R10, R11) // quotes
	VMOVQ R10, X4
	VPCLMULQDQ $0, X10, X4, X4
	VMOVQ X4, R10 // inside strings, before the carry
	XORQ R8, R10

	VPAND Y11, Y0, Y0
	VPAND Y11, Y1, Y1
	MASK2(Y12, R11, BX) // opening brackets
	MASK2(Y13, R12, BX) // closing brackets
	MOVQ R10, DI
	NOTQ DI
	ANDQ DI, R11
	ANDQ DI, R12
	POPCNTQ R12, R13
	CMPQ DX, R13
	JLE brackets // the depth may reach zero in this block
	POPCNTQ R11, BX
	ADDQ BX, DX
	SUBQ R13, DX

next:
	SARQ $63, R10
	MOVQ R10, R8
	ADDQ $64, AX
	SUBQ $64, CX
	JMP loop

	// The brackets of the block in order: R11 opening, R12 closing.
brackets:
	MOVQ R11, R14
	ORQ R12, R14
bit:
	TESTQ R14, R14
	JZ next
	BSFQ R14, BX
	BTQ BX, R11
	JCS open
	DECQ DX
	JZ closed
	JMP clear
open:
	INCQ DX
clear:
	LEAQ -1(R14), R15
	ANDQ R15, R14
	JMP bit

closed:
	LEAQ 1(AX)(BX*1), AX
	XORQ DX, DX

done:
	VZEROUPPER
	MOVQ AX, adv+32(FP)
	MOVQ DX, d+40(FP)
	MOVQ R8, ins+48(FP)
	RET
