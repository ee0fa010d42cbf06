package dev.stackstream.symbols.proc;

/**
 * One executable mapping of a process.
 *
 * @param start first address
 * @param end address just past the mapping
 * @param fileOffset offset in the file of {@code start}
 * @param path path as the process sees it, without a {@code " (deleted)"} suffix; a bracketed name
 *     for special mappings ({@code [vdso]}); empty for anonymous memory
 * @param deleted the file was deleted or replaced after it was mapped
 * @param inode inode from /proc/PID/maps, 0 when unknown
 * @param buildId build-id reported by the kernel (PERF_RECORD_MMAP2), or null
 */
public record Mapping(long start, long end, long fileOffset, String path, boolean deleted, long inode,
                      byte[] buildId) {

    /** The suffix /proc/PID/maps appends to files that no longer exist under their path. */
    public static final String DELETED_SUFFIX = " (deleted)";

    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
    }

    public boolean isAnonymous() {
        return path.isEmpty() || path.startsWith("//anon") || path.startsWith("[anon");
    }

    /** [vdso], [vsyscall], [heap]... */
    public boolean isSpecial() {
        return path.startsWith("[");
    }

    public boolean isFile() {
        return !isAnonymous() && !isSpecial() && path.startsWith("/");
    }

    /** File offset of an address inside this mapping. */
    public long fileOffsetOf(long address) {
        return address - start + fileOffset;
    }

    /**
     * A mapping from a raw path as the kernel reports it: " (deleted)" is stripped and remembered.
     */
    public static Mapping of(long start, long end, long fileOffset, String rawPath, long inode, byte[] buildId) {
        String path = rawPath == null ? "" : rawPath;
        boolean deleted = false;
        if (path.endsWith(DELETED_SUFFIX)) {
            path = path.substring(0, path.length() - DELETED_SUFFIX.length());
            deleted = true;
        }
        return new Mapping(start, end, fileOffset, path, deleted, inode, buildId);
    }
}
