package dev.stackstream.symbols.elf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * Identity of a file's contents as far as the file system tells without reading it: a file
 * replaced in place (new inode, size or mtime) gets a new identity, so a cached symbol table is
 * never used for a binary it was not read from.
 */
public record FileIdentity(long device, long inode, long size, long mtimeNanos) {

    /** Stats path (following links, so /proc/PID/map_files and /proc/PID/root work). */
    public static FileIdentity of(Path path) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino,size,lastModifiedTime");
        FileTime mtime = (FileTime) a.get("lastModifiedTime");
        long nanos = mtime.to(java.util.concurrent.TimeUnit.NANOSECONDS);
        return new FileIdentity(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue(),
                ((Number) a.get("size")).longValue(), nanos);
    }
}
