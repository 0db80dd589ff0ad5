package io.dubhub.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.concurrent.TimeUnit;

/** Our meters, named once here so dashboards do not break on a typo somewhere else. */
@ApplicationScoped
public class HubMetrics {

    @Inject
    MeterRegistry registry;

    public void providerCall(String provider, String operation, int status, long nanos) {
        Timer.builder("dubhub.provider.call")
                .description("Provider API and storage call latency")
                .tag("provider", provider)
                .tag("operation", operation)
                .tag("outcome", status == 0 ? "io-error" : (status / 100) + "xx")
                .register(registry)
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    public void bytesMoved(String provider, String direction, long bytes) {
        Counter.builder("dubhub.bytes.moved")
                .description("Media bytes streamed to providers (upload) and to sinks (download)")
                .baseUnit("bytes")
                .tag("provider", provider)
                .tag("direction", direction)
                .register(registry)
                .increment(bytes);
    }

    public void jobFinished(String provider, String state) {
        Counter.builder("dubhub.jobs.finished")
                .description("Jobs that reached an end state")
                .tag("provider", provider)
                .tag("state", state)
                .register(registry)
                .increment();
    }

    /** A job that had to wait for a provider's rate limit (our gate or the provider's 429); not a failure. */
    public void rateGateWait(String provider) {
        Counter.builder("dubhub.rate.gate.waits")
                .description("Times a job was held back by a provider rate limit (ledger gate or 429 Retry-After)")
                .tag("provider", provider)
                .register(registry)
                .increment();
    }

    private java.util.concurrent.atomic.AtomicLong ledgerStatements;
    private java.util.concurrent.atomic.AtomicLong pollCycles;

    /**
     * Ledger statements and poll cycles as counters, so load per tick is one division
     * (bench/ScaleBench). The counters themselves are registered, not the beans: a scrape must
     * never be what creates a bean (on a scrape thread its config lookup can fail).
     */
    void registerLedgerCounters(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event,
                                io.dubhub.ledger.LedgerDataSource ledger, io.dubhub.pipeline.WorkQueue workQueue) {
        // function counters hold their object weakly; these fields keep them measured
        ledgerStatements = ledger.statementCounter();
        pollCycles = workQueue.pollCycleCounter();
        // A registry can outlive an app instance (tests restart the app in one JVM, Micrometer keeps
        // a name's first registration): drop an earlier binding so these names read this app's counters.
        java.util.List<MeterRegistry> registries = new java.util.ArrayList<>(java.util.List.of(registry, io.micrometer.core.instrument.Metrics.globalRegistry));
        for (MeterRegistry r : java.util.List.copyOf(registries)) {
            if (r instanceof io.micrometer.core.instrument.composite.CompositeMeterRegistry composite) {
                registries.addAll(composite.getRegistries());
            }
        }
        for (MeterRegistry r : registries) {
            for (String name : new String[]{"dubhub.ledger.statements", "dubhub.poll.cycles"}) {
                r.find(name).meters().forEach(r::remove);
            }
        }
        io.micrometer.core.instrument.FunctionCounter.builder("dubhub.ledger.statements", ledgerStatements,
                        java.util.concurrent.atomic.AtomicLong::get)
                .description("SQL statements executed on the ledger by this process")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("dubhub.poll.cycles", pollCycles,
                        java.util.concurrent.atomic.AtomicLong::get)
                .description("Ticks of the poll-due-jobs timer (claimDue calls) in this process")
                .register(registry);
    }
}
