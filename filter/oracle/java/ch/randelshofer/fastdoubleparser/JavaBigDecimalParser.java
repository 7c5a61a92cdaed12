package ch.randelshofer.fastdoubleparser;

import java.math.BigDecimal;

/** A stand-in for fastdoubleparser's one method event-ruler calls (no Debian package). */
public final class JavaBigDecimalParser {
    private JavaBigDecimalParser() {}

    public static BigDecimal parseBigDecimal(CharSequence s) {
        return new BigDecimal(s.toString());
    }
}
