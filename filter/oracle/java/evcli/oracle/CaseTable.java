package evcli.oracle;

/** Prints Java 17's String.toLowerCase/toUpperCase(Locale.ROOT) of every BMP character that changes: "hex lower upper" (code points, comma-separated). filter/internal/rulerc/javacase.go is generated from it (see gen_test.go there). */
import java.util.Locale;
public class CaseTable {
    public static void main(String[] a) {
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < 0x10000; c++) {
            if (c >= 0xD800 && c <= 0xDFFF) continue;
            String s = String.valueOf((char) c);
            String lo = s.toLowerCase(Locale.ROOT), up = s.toUpperCase(Locale.ROOT);
            if (lo.equals(s) && up.equals(s)) continue;
            sb.append(Integer.toHexString(c)).append(' ').append(hex(lo)).append(' ').append(hex(up)).append('\n');
        }
        System.out.print(sb);
    }
    static String hex(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> { if (b.length() > 0) b.append(','); b.append(Integer.toHexString(cp)); });
        return b.toString();
    }
}
