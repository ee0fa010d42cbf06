package dev.stackstream.collector.publish;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the samples and stacks topics when they are absent, once per publisher: the stacks topic
 * compacted (only the latest definition per stack id matters), the samples topic with time
 * retention. Replication comes from the broker's default. Without permission to create topics the
 * publisher goes on and lets the broker (or an operator) provide them.
 */
final class TopicSetup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicSetup.class);

    private final PublisherConfig config;
    private final String clientId;
    private boolean done;
    private Admin admin;

    TopicSetup(PublisherConfig config, String clientId) {
        this.config = config;
        this.clientId = clientId;
        this.done = !config.createTopics();
    }

    /** Makes sure both topics exist; throws (to be retried) while the broker is unreachable. */
    synchronized void ensure() throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
        if (done) {
            return;
        }
        if (admin == null) {
            admin = Admin.create(KafkaClients.adminProperties(config, clientId));
        }
        Set<String> existing;
        try {
            existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.AuthorizationException) {
                LOG.warn("not allowed to list topics ({}); assuming {} and {} are managed elsewhere",
                        e.getCause().getMessage(), config.samplesTopic(), config.stacksTopic());
                done = true;
                return;
            }
            throw e;
        }
        List<NewTopic> missing = new ArrayList<>();
        if (!existing.contains(config.stacksTopic())) {
            missing.add(new NewTopic(config.stacksTopic(), Optional.of(config.topicPartitions()), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        }
        if (!existing.contains(config.samplesTopic())) {
            missing.add(new NewTopic(config.samplesTopic(), Optional.of(config.topicPartitions()), Optional.empty()));
        }
        for (NewTopic t : missing) {
            try {
                admin.createTopics(List.of(t)).all().get(15, TimeUnit.SECONDS);
                LOG.info("created topic {} ({} partitions{})", t.name(), config.topicPartitions(),
                        t.configs() == null ? "" : ", " + t.configs());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof TopicExistsException) {
                    continue;
                }
                if (e.getCause() instanceof TopicAuthorizationException
                        || e.getCause() instanceof ClusterAuthorizationException) {
                    LOG.warn("not allowed to create topic {} ({}); assuming it is managed elsewhere", t.name(),
                            e.getCause().getMessage());
                    continue;
                }
                throw e;
            }
        }
        done = true;
        admin.close();
        admin = null;
    }

    @Override
    public synchronized void close() {
        if (admin != null) {
            admin.close(java.time.Duration.ofSeconds(1));
            admin = null;
        }
    }
}
