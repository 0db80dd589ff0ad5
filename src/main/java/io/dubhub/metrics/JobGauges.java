package io.dubhub.metrics;

import io.dubhub.job.JobState;
import io.dubhub.ledger.JobLedger;
import io.dubhub.provider.ProviderRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import java.util.Map;

/**
 * dubhub_jobs{provider,state}: read from the ledger (shared by every replica), at most once per
 * scrape burst, so a dashboard shows the whole fleet, not one process.
 */
@ApplicationScoped
public class JobGauges {

    private static final long CACHE_MILLIS = 2000;

    @Inject
    MeterRegistry registry;

    @Inject
    JobLedger ledger;

    @Inject
    ProviderRegistry providers;

    private volatile Map<String, Map<String, Long>> snapshot = Map.of();
    private volatile long snapshotAt;

    void register(@Observes StartupEvent event) {
        for (String provider : providers.all().keySet()) {
            for (JobState state : JobState.values()) {
                Gauge.builder("dubhub.jobs", () -> count(provider, state.name()))
                        .description("Jobs in the ledger by provider and state")
                        .tag("provider", provider)
                        .tag("state", state.name().toLowerCase())
                        .register(registry);
            }
        }
    }

    private double count(String provider, String state) {
        long now = System.currentTimeMillis();
        if (now - snapshotAt > CACHE_MILLIS) {
            try {
                snapshot = ledger.countsByProviderAndState();
            } catch (RuntimeException e) {
                return Double.NaN;
            }
            snapshotAt = now;
        }
        return snapshot.getOrDefault(provider, Map.of()).getOrDefault(state, 0L);
    }
}
