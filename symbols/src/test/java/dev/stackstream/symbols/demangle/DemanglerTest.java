package dev.stackstream.symbols.demangle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DemanglerTest {
    private final Demangler d = new Demangler(true);

    @Test
    void theCxxRuntimeIsReachable() {
        assertTrue(Demangler.available(), "libstdc++.so.6 loads through JNA");
    }

    @Test
    void cxxNamesAreDemangledByTheRuntime() {
        assertEquals("std::vector<int, std::allocator<int> >::push_back(int const&)",
                d.apply("_ZNSt6vectorIiSaIiEE9push_backERKi"));
        assertEquals("foo::bar(int, char const*)", d.apply("_ZN3foo3barEiPKc"));
        assertEquals("operator new(unsigned long)", d.apply("_Znwm"));
    }

    @Test
    void versionSuffixesSurvive() {
        assertEquals("operator new(unsigned long)@@GLIBCXX_3.4", d.apply("_Znwm@@GLIBCXX_3.4"));
    }

    @Test
    void rustLegacyNamesLoseTheHashAndDecodeEscapes() {
        assertEquals("core::fmt::write", d.apply("_ZN4core3fmt5write17h0123456789abcdefE"));
        assertEquals("<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop",
                d.apply("_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop"
                        + "17h1234567890abcdefE"));
    }

    @Test
    void rustV0IsDemangledByLibibertyOrKeptAndCounted() {
        long before = d.rustV0Kept();
        String v0 = "_RNvNtCs9ltgdHTiPiY_4core3ptr13drop_in_place";
        if (Demangler.rustV0Available()) {
            assertEquals("core::ptr::drop_in_place", d.apply(v0));
            assertEquals(before, d.rustV0Kept());
        } else {
            assertEquals(v0, d.apply(v0));
            assertEquals(before + 1, d.rustV0Kept());
        }
        String broken = "_RNvXbroken";
        assertEquals(broken, d.apply(broken));
        assertEquals(before + 1 + (Demangler.rustV0Available() ? 0 : 1), d.rustV0Kept());
    }

    @Test
    void plainAndInvalidNamesAreUnchanged() {
        assertEquals("main", d.apply("main"));
        assertEquals("_Zgarbage!", d.apply("_Zgarbage!"));
        assertEquals("_start", d.apply("_start"));
        assertEquals("_ZN3foo3barEiPKc", new Demangler(false).apply("_ZN3foo3barEiPKc"));
    }

    @Test
    void manyThreadsCanDemangleAtOnce() throws Exception {
        Thread[] ts = new Thread[4];
        boolean[] ok = new boolean[ts.length];
        for (int t = 0; t < ts.length; t++) {
            int idx = t;
            ts[t] = new Thread(() -> {
                boolean good = true;
                for (int i = 0; i < 2000; i++) {
                    good &= "foo::bar(int, char const*)".equals(d.apply("_ZN3foo3barEiPKc"));
                }
                ok[idx] = good;
            });
            ts[t].start();
        }
        for (int t = 0; t < ts.length; t++) {
            ts[t].join();
            assertTrue(ok[t]);
        }
    }
}
