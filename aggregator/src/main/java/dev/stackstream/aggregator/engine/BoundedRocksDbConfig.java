package dev.stackstream.aggregator.engine;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * Bounds the memory of every RocksDB instance of the process (one per store, per task, per segment)
 * to one total: a single LRU block cache shared by all of them, with memtables charged against it
 * through a shared WriteBufferManager, and index/filter blocks kept in the cache instead of beside it.
 * Without this each store takes its own 50 MB cache and 3 x 16 MB memtables, so memory grows with the
 * number of partitions and window segments.
 *
 * <p>Kafka Streams creates this class by reflection for every store; the total comes from the
 * Streams config {@value #TOTAL_BYTES_CONFIG}. The cache lives as long as the process (stores of
 * several KafkaStreams instances in one JVM share it), so it is never closed here.
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {
    /** Streams config key: total bytes for block cache + memtables of all stores. */
    public static final String TOTAL_BYTES_CONFIG = "stackstream.rocksdb.memory.bytes";
    /** Default total: 256 MiB. */
    public static final long DEFAULT_TOTAL_BYTES = 256L * 1024 * 1024;
    /** Share of the total that memtables may take. */
    private static final double WRITE_BUFFER_SHARE = 0.5;

    private static long sharedTotal = -1;
    private static Cache sharedCache;
    private static WriteBufferManager sharedWriteBuffers;

    private static synchronized void ensureShared(long total) {
        if (sharedCache == null || sharedTotal != total) {
            // A different total (another aggregator in the same JVM with its own setting) gets its own
            // cache; the previous one stays referenced by the stores that use it.
            sharedCache = new LRUCache(total, -1, false, 0.1);
            sharedWriteBuffers = new WriteBufferManager((long) (total * WRITE_BUFFER_SHARE), sharedCache);
            sharedTotal = total;
        }
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        Object configured = configs.get(TOTAL_BYTES_CONFIG);
        long total = configured == null ? DEFAULT_TOTAL_BYTES : Long.parseLong(configured.toString());
        Cache cache;
        WriteBufferManager writeBuffers;
        synchronized (BoundedRocksDbConfig.class) {
            ensureShared(total);
            cache = sharedCache;
            writeBuffers = sharedWriteBuffers;
        }
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(cache);
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferManager(writeBuffers);
        options.setTableFormatConfig(table);
        // Small memtables: many stores share the budget, and a store flushes when it fills its own.
        options.setWriteBufferSize(Math.max(1L << 20, Math.min(16L << 20, total / 32)));
        options.setMaxWriteBufferNumber(2);
    }

    @Override
    public void close(String storeName, Options options) {
        // The shared cache and write buffer manager outlive any one store; see the class comment.
    }
}
