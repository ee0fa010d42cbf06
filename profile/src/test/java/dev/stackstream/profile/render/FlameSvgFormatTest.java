package dev.stackstream.profile.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The number formatting that must match Perl's printf (C rounding of the exact binary value). */
class FlameSvgFormatTest {

    @Test
    void fixedRoundsLikePrintf() {
        assertEquals("0.2", FlameSvg.fixed(0.25, 1), "exact binary tie goes to even");
        assertEquals("0.3", FlameSvg.fixed(0.35, 1), "0.35 is just below the tie in binary (perl prints 0.3)");
        assertEquals("1180.0", FlameSvg.fixed(1180.0, 1));
        assertEquals("13.00", FlameSvg.fixed(13, 2));
        assertEquals("0.05", FlameSvg.fixed(0.05, 2));
        assertEquals("-0.00", FlameSvg.fixed(-0.001, 2));
        assertEquals("-2.22", FlameSvg.fixed(-2.2222, 2));
        Random r = new Random(1);
        for (int i = 0; i < 20_000; i++) {
            double v = r.nextDouble() * 1200 * (i % 2 == 0 ? 1 : r.nextInt(7) / 4.0);
            for (int scale = 1; scale <= 2; scale++) {
                assertEquals(new BigDecimal(v).setScale(scale, RoundingMode.HALF_EVEN).toPlainString(),
                        FlameSvg.fixed(v, scale), "value " + v);
            }
        }
    }

    @Test
    void groupsThousands() {
        assertEquals("0", FlameSvg.grouped(0));
        assertEquals("999", FlameSvg.grouped(999));
        assertEquals("1,000", FlameSvg.grouped(1000));
        assertEquals("12,345,678", FlameSvg.grouped(12_345_678));
        assertEquals("-1,234", FlameSvg.grouped(-1234));
    }
}
