package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.connect.proto.ProfileType;
import java.util.List;
import java.util.Optional;

/**
 * Our profile types under the five-part ids Grafana's Pyroscope data source uses
 * ({@code name:sample_type:sample_unit:period_type:period_unit}; Grafana takes the unit from the
 * third part and groups types by the first). A type the aggregator records but that has no entry
 * here is not offered to Grafana; adding a type is adding one entry to {@link #ENTRIES}.
 */
public final class ProfileTypeIds {

    /**
     * One type.
     *
     * @param type our type name (the {@code type} of a series, as {@code /api/v1/profile-types} lists it)
     * @param name first id part: the group Grafana shows
     * @param sampleType what a sample's value measures
     * @param sampleUnit its unit (the unit Grafana shows values in)
     * @param periodType what the sampling period measures
     * @param periodUnit its unit
     */
    public record Entry(String type, String name, String sampleType, String sampleUnit, String periodType,
                        String periodUnit) {
        /** The five-part id. */
        public String id() {
            return String.join(":", name, sampleType, sampleUnit, periodType, periodUnit);
        }

        /** The id's parts as the API's ProfileType message. */
        public ProfileType toProto() {
            return ProfileType.newBuilder().setID(id()).setName(name).setSampleType(sampleType)
                    .setSampleUnit(sampleUnit).setPeriodType(periodType).setPeriodUnit(periodUnit).build();
        }
    }

    /**
     * Every type Grafana can ask for; ids unique, types unique. Values are a sample's weight in the
     * type's unit (count × period, see {@code profile.ProfileType}): CPU and wall time and off-CPU
     * time in nanoseconds, page faults and context switches in events, allocations in bytes.
     */
    static final List<Entry> ENTRIES = List.of(
            new Entry("cpu", "process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds"),
            new Entry("wall", "wall", "wall", "nanoseconds", "wall", "nanoseconds"),
            new Entry("offcpu", "off_cpu", "off_cpu", "nanoseconds", "off_cpu", "nanoseconds"),
            new Entry("page-faults", "page_faults", "page_faults", "count", "page_faults", "count"),
            new Entry("context-switches", "context_switches", "context_switches", "count", "context_switches",
                    "count"),
            new Entry("alloc", "memory", "alloc_space", "bytes", "space", "bytes"),
            new Entry("alloc-objects", "memory", "alloc_objects", "count", "space", "bytes"));

    private ProfileTypeIds() {
    }

    /** The entry with this five-part id. */
    public static Optional<Entry> byId(String id) {
        return ENTRIES.stream().filter(e -> e.id().equals(id)).findFirst();
    }

    /** The entry of one of our type names. */
    public static Optional<Entry> byType(String type) {
        return ENTRIES.stream().filter(e -> e.type().equals(type)).findFirst();
    }

    /** Every id, for error messages. */
    public static List<String> ids() {
        return ENTRIES.stream().map(Entry::id).toList();
    }
}
