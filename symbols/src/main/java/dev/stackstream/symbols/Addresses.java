package dev.stackstream.symbols;

/**
 * Search over sorted address arrays. Addresses compare unsigned: kernel addresses have the top bit
 * set, and a signed comparison would sort them before every user address.
 */
public final class Addresses {
    private Addresses() {
    }

    /**
     * Index of the last element of {@code sortedStarts} (sorted unsigned, ascending) that is at or
     * below {@code address}, or -1 when address lies below all of them. The caller checks whether
     * the address also falls before that entry's end.
     */
    public static int floorIndex(long[] sortedStarts, long address) {
        int lo = 0;
        int hi = sortedStarts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(sortedStarts[mid], address) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi;
    }
}
