package io.dubhub.pipeline;

import io.dubhub.config.HubConfig;
import io.dubhub.delivery.SourceArchive;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobState;
import io.dubhub.job.JobTarget;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Exchange;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;

/**
 * Decides what a failure means for a job: retry later with backoff, or stop it with a reason an
 * operator understands (error.json beside the source in failed/). Used by the job-errors route
 * configuration, so no route copies this logic.
 */
@ApplicationScoped
@Named("jobFailures")
public class JobFailures {

    private static final Logger LOG = Logger.getLogger(JobFailures.class);

    @Inject
    JobLedger ledger;

    @Inject
    HubConfig config;

    @Inject
    ProviderRegistry providers;

    @Inject
    SourceArchive archive;

    @Inject
    HubMetrics metrics;

    @Inject
    WorkQueue work;

    @Inject
    io.dubhub.spend.SpendGuard spendGuard;

    /** onException handler: the caught exception is on the exchange, the job id in header hubJobId. */
    public void handle(Exchange exchange) {
        Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String jobId = exchange.getMessage().getHeader("hubJobId", String.class);
        if (jobId == null) {
            LOG.errorf(error, "Failure outside any job: %s", error == null ? "?" : error.getMessage());
            return;
        }
        try {
            dispatch(jobId, error);
        } finally {
            work.forget(jobId);
        }
    }

    private void dispatch(String jobId, Throwable error) {
        Throwable cause = unwrap(error);
        if (cause instanceof JobRejectedException rejected) {
            reject(jobId, rejected);
        } else if (cause instanceof ProviderException pe) {
            providerFailed(jobId, pe);
        } else {
            LOG.errorf(cause, "Job %s: unexpected error", jobId);
            String stage = ledger.load(jobId).stage();
            retry(jobId, stage == null ? Stage.INTAKE : Stage.valueOf(stage), "unexpected error: " + cause, null);
        }
    }

    public void reject(String jobId, JobRejectedException e) {
        fail(jobId, e.stage(), e.getMessage(), e.providerMessage());
    }

    private void providerFailed(String jobId, ProviderException e) {
        switch (e.kind()) {
            case TRANSIENT, OUTCOME_UNKNOWN -> retry(jobId, e.stage(), e.getMessage(), e.providerMessage());
            case MISCONFIGURED -> {
                // Every job of this provider would fail the same way: flag it and keep the job, so
                // fixing the key lets it go on instead of sending every file to failed/.
                ledger.setProviderHealth(e.provider(), "MISCONFIGURED", e.getMessage());
                retry(jobId, e.stage(), e.getMessage(), e.providerMessage());
            }
            case OUT_OF_CREDITS -> {
                ledger.setProviderHealth(e.provider(), "OUT_OF_CREDITS", e.getMessage());
                fail(jobId, e.stage(), e.getMessage(), e.providerMessage());
            }
            case REJECTED -> fail(jobId, e.stage(), e.getMessage(), e.providerMessage());
            case WAIT -> waitFor(jobId, e);
        }
    }

    /**
     * A rate limit, ours or the provider's, or a full disk: the job comes back at the given time, its attempts
     * untouched (waiting is not failing), and its reason says what it waits for. The timeline
     * gets one line per distinct reason, not one per look.
     */
    private void waitFor(String jobId, ProviderException e) {
        Instant at = e.retryAt() == null ? Instant.now().plusSeconds(1) : e.retryAt();
        Job job = ledger.load(jobId);
        ledger.waitUntil(jobId, at, e.getMessage());
        if (!e.getMessage().equals(job.reason())) {
            ledger.event(jobId, e.stage(), e.getMessage());
        }
        if (io.dubhub.delivery.DiskFull.is(e)) {
            // ops must act: say it where they look, once per job and reason
            if (!e.getMessage().equals(job.reason())) {
                LOG.warnf("Job %s (%s): %s", jobId, job.sourceName(), e.getMessage());
            }
            return;
        }
        metrics.rateGateWait(e.provider());
        LOG.debugf("Job %s (%s): %s; back at %s", jobId, e.provider(), e.getMessage(), at);
    }

    private void retry(String jobId, Stage stage, String reason, String providerMessage) {
        Job job = ledger.load(jobId);
        int attempts = job.attempts() + 1;
        if (attempts > config.poll().maxAttempts()) {
            fail(jobId, stage, "gave up after " + (attempts - 1) + " attempts; last error: " + reason, providerMessage);
            return;
        }
        Duration base = providers.find(job.provider()).map(ProviderAdapter::pollInterval).orElse(Duration.ofSeconds(10));
        long factor = 1L << Math.min(attempts - 1, 16);
        Duration wait = base.multipliedBy(factor);
        if (wait.compareTo(config.poll().maxBackoff()) > 0) {
            wait = config.poll().maxBackoff();
        }
        ledger.retryLater(jobId, Instant.now().plus(wait), reason);
        ledger.event(jobId, stage, "attempt " + attempts + " failed, retrying in " + wait.toSeconds() + " s: " + reason);
        LOG.warnf("Job %s (%s, %s): %s; retry %d/%d in %d s", jobId, job.provider(), stage.label(), reason, attempts,
                config.poll().maxAttempts(), wait.toSeconds());
    }

    /** Ends the job as failed; the source goes to failed/<provider>/ with an error.json beside it. */
    public void fail(String jobId, Stage stage, String reason, String providerMessage) {
        Job job = ledger.load(jobId);
        if (!job.state().active() && job.state() != JobState.RECEIVED) {
            return;
        }
        for (JobTarget t : ledger.targets(jobId)) {
            if (t.state() != JobTarget.TargetState.FAILED && t.state() != JobTarget.TargetState.DELIVERED) {
                ledger.upsertTarget(jobId, t.language(), null, JobTarget.TargetState.FAILED, reason);
            }
        }
        ledger.setState(jobId, JobState.FAILED, stage, reason, providerMessage);
        ledger.event(jobId, stage, "failed: " + reason);
        LOG.errorf("Job %s (%s) failed at %s: %s", jobId, job.sourceName(), stage.label(), reason);
        archive.toFailed(ledger.load(jobId), stage, reason, providerMessage);
        metrics.jobFinished(job.provider(), JobState.FAILED.name());
        spendGuard.settled(ledger.load(jobId));
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while (cur != null && !(cur instanceof JobRejectedException) && !(cur instanceof ProviderException) && cur.getCause() != null
                && cur.getCause() != cur) {
            cur = cur.getCause();
        }
        return cur instanceof JobRejectedException || cur instanceof ProviderException ? cur : t;
    }
}
