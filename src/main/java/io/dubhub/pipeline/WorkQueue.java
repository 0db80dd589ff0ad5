package io.dubhub.pipeline;

import io.dubhub.config.HubConfig;
import io.dubhub.ledger.JobLedger;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.ProducerTemplate;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The jobs this process holds a lease on, queued or being worked on. The queue itself
 * (seda:job-work) is only memory; what makes it safe is the ledger lease, renewed here while we
 * hold a job and left to expire after a crash so another process (or this one, restarted) takes over.
 */
@ApplicationScoped
@Named("workQueue")
public class WorkQueue {

    private static final Logger LOG = Logger.getLogger(WorkQueue.class);
    static final String QUEUE = "seda:job-work";

    @Inject
    JobLedger ledger;

    @Inject
    HubConfig config;

    @Inject
    ProducerTemplate producer;

    private final Set<String> held = ConcurrentHashMap.newKeySet();
    /** Poll ticks of this process (dubhub_poll_cycles_total); static for the same reason as LedgerDataSource's statement counter. */
    private static final java.util.concurrent.atomic.AtomicLong pollCycles = new java.util.concurrent.atomic.AtomicLong();

    /** Claims due jobs, no more than the workers can start soon; the poll route queues them. */
    public List<String> claimDue() {
        pollCycles.incrementAndGet();
        return claim();
    }

    private final java.util.concurrent.atomic.AtomicBoolean refilling = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * A worker let a job go: take the next due ones now rather than at the next poll tick. With the
     * number held capped (see {@link #admit}), waiting for the tick would leave workers idle between
     * stages; one claim per finished stage keeps them busy. Skipped while another refill runs.
     */
    public void refill() {
        if (!refilling.compareAndSet(false, true)) {
            return;
        }
        try {
            for (String id : claim()) {
                producer.asyncSendBody(QUEUE, id);
            }
        } catch (RuntimeException e) {
            LOG.debugf("refill skipped (the poll tick claims instead): %s", e.getMessage());
        } finally {
            refilling.set(false);
        }
    }

    private List<String> claim() {
        int room = room() - held.size();
        if (room <= 0) {
            return List.of();
        }
        List<String> claimed = new ArrayList<>();
        for (String id : ledger.claimDue(room)) {
            if (held.add(id)) {
                claimed.add(id);
            }
        }
        return claimed;
    }

    /**
     * A job just registered by intake (which holds its lease): worked on at once while there is
     * room, otherwise let go, due now, for the poller to claim in its turn. Without the limit a burst
     * of new files went straight into the work queue ahead of every poll and download.
     */
    public void admit(String jobId) {
        if (held.size() < room()) {
            held.add(jobId);
            producer.asyncSendBody(QUEUE, jobId);
        } else {
            ledger.release(jobId, java.time.Instant.now());
        }
    }

    /** Jobs this process takes at once: queued for, or being worked on by, its workers. */
    private int room() {
        return config.workers() * 2;
    }

    /** Queues a held job again at once (its next stage is due now), keeping the lease. */
    public void requeue(String jobId) {
        held.add(jobId);
        producer.asyncSendBody(QUEUE, jobId);
    }

    /** Lets go of a job: its lease is released (or expired) in the ledger by the caller. */
    public void forget(String jobId) {
        held.remove(jobId);
    }

    public void renewLeases() {
        if (held.isEmpty()) {
            return;
        }
        try {
            ledger.renewLeases(List.copyOf(held));
        } catch (RuntimeException e) {
            LOG.warnf("Could not renew job leases (%d held): %s", held.size(), e.getMessage());
        }
    }

    /** Times the poll timer asked for due jobs since start (dubhub_poll_cycles_total). */
    public long pollCycles() {
        return pollCycles.get();
    }

    public java.util.concurrent.atomic.AtomicLong pollCycleCounter() {
        return pollCycles;
    }

    public int heldCount() {
        return held.size();
    }
}
