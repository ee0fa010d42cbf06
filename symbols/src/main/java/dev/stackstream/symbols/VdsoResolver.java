package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfModule;
import dev.stackstream.symbols.elf.ModuleCache;
import dev.stackstream.symbols.proc.Mapping;
import dev.stackstream.symbols.proc.ProcMaps;
import dev.stackstream.symbols.proc.ProcessMappings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;

/**
 * [vdso] addresses: the vdso is an ELF image the kernel maps into every process. It is read from
 * the target's memory (/proc/PID/mem, needs ptrace access: same user or CAP_SYS_PTRACE), falling
 * back to this process's own vdso (the same kernel maps the same image into every 64-bit process),
 * and cached by content so it is parsed once.
 */
final class VdsoResolver {
    private static final long MAX_VDSO = 1 << 20;

    private final ModuleCache cache;
    private final Demangler demangler;
    private final StatsRecorder stats;

    VdsoResolver(ModuleCache cache, Demangler demangler, StatsRecorder stats) {
        this.cache = cache;
        this.demangler = demangler;
        this.stats = stats;
    }

    private record VdsoRef(ModuleCache.Entry entry) {
    }

    Frame frame(int pid, ProcessMappings.Slot slot, long address) {
        Mapping m = slot.mapping();
        Object o = slot.module();
        VdsoRef ref;
        if (o instanceof VdsoRef r) {
            ref = r;
        } else {
            ref = new VdsoRef(load(pid, m));
            slot.module(ref);
        }
        long offset = address - m.start();
        String name = null;
        String buildId = null;
        ModuleCache.Entry e = ref.entry();
        if (e != null) {
            ElfModule mod = e.module();
            if (mod == null && e.failure() == null) {
                cache.reload(e);
                mod = e.module();
            }
            if (mod != null) {
                name = mod.functionAt(offset);
                buildId = mod.buildId();
            }
        }
        stats.lookup(FrameKind.USER, ModuleKind.VDSO, name != null);
        return new Frame(name, "[vdso]", buildId, offset, FrameKind.USER, null, 0);
    }

    private ModuleCache.Entry load(int pid, Mapping m) {
        byte[] image = read(pid, m.start(), m.end());
        if (image == null) {
            image = ownImage();
        }
        if (image == null) {
            stats.warn("vdso-unreadable", "pid " + pid, "cannot read [vdso] of pid " + pid
                    + " (/proc/PID/mem needs ptrace access: CAP_SYS_PTRACE) nor our own");
            return null;
        }
        CRC32 crc = new CRC32();
        crc.update(image);
        byte[] bytes = image;
        ModuleCache.Entry e = cache.get("vdso:" + bytes.length + ":" + crc.getValue(),
                () -> ElfModule.fromImage(ByteBuffer.wrap(bytes), demangler,
                        msg -> stats.warn("vdso-corrupt", "[vdso]", msg)));
        if (e.failure() != null) {
            stats.warn("vdso-corrupt", "[vdso]", "[vdso] image of pid " + pid + " unusable: " + e.failure());
        }
        return e;
    }

    private static byte[] ownImage() {
        int self = (int) ProcessHandle.current().pid();
        try {
            for (Mapping m : ProcMaps.read(ProcSymbolizer.PROC, self)) {
                if (m.path().equals("[vdso]")) {
                    return read(self, m.start(), m.end());
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    static byte[] read(int pid, long start, long end) {
        long len = end - start;
        if (len <= 0 || len > MAX_VDSO) {
            return null;
        }
        Path mem = ProcSymbolizer.PROC.resolve(Integer.toString(pid)).resolve("mem");
        try (FileChannel ch = FileChannel.open(mem, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) len);
            while (buf.hasRemaining()) {
                int n = ch.read(buf, start + buf.position());
                if (n <= 0) {
                    return null;
                }
            }
            return buf.array();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
