package io.dubhub.pipeline;

import io.dubhub.job.Job;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobState;
import io.dubhub.job.JobTarget;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.media.MediaInfo;
import io.dubhub.media.MediaProbe;
import io.dubhub.provider.PollOutcome;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Exchange;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The job state machine the core routes step through: each method moves a job one stage on and
 * writes where it is to the ledger, so a process killed between any two of them resumes there.
 */
@ApplicationScoped
@Named("jobPipeline")
public class JobPipeline {

    private static final Logger LOG = Logger.getLogger(JobPipeline.class);

    @Inject
    JobLedger ledger;

    @Inject
    ProviderRegistry providers;

    @Inject
    MediaProbe probe;

    @Inject
    JobData jobData;

    @Inject
    WorkQueue work;

    @Inject
    JobFailures failures;

    @Inject
    io.dubhub.delivery.BucketSourceArchive archive;

    /**
     * Loads the job named by the body into the body and sets the routing headers. A job that
     * ended meanwhile, or whose lease another process took, gets hubState SKIP.
     */
    public void begin(Exchange exchange) {
        String jobId = exchange.getMessage().getBody(String.class);
        Job job = ledger.find(jobId).orElse(null);
        exchange.getMessage().setHeader("hubJobId", jobId);
        if (job == null || !job.state().active() || !ledger.holdsLease(jobId)) {
            exchange.getMessage().setHeader("hubState", "SKIP");
            work.forget(jobId);
            return;
        }
        exchange.getMessage().setHeader("hubProvider", job.provider());
        exchange.getMessage().setHeader("hubState", job.state().name());
        exchange.getMessage().setBody(job);
    }

    /** Spec is valid (checked at intake); now probe the media and check the provider's limits. */
    public void prepare(Job job) {
        ProviderAdapter provider = providers.get(job.provider());
        JobSpec spec = jobData.spec(job);
        MediaInfo media = probe.probe(Path.of(job.sourceLocation()));
        ledger.setMedia(job.id(), jobData.mediaJson(media));
        ledger.event(job.id(), Stage.PROBE, media.describe());
        provider.validate(ledger.load(job.id()), spec, media);
        for (String lang : spec.targetLanguages()) {
            ledger.upsertTarget(job.id(), lang, null, TargetState.PENDING, null);
        }
        ledger.setState(job.id(), JobState.SUBMITTING, Stage.SUBMIT, null, null);
        ledger.event(job.id(), Stage.VALIDATE, "fits " + job.provider() + "'s limits; submitting "
                + (spec.sourceLanguage() == null ? "auto" : spec.sourceLanguage()) + " → " + String.join(", ", spec.targetLanguages()));
    }

    /** Everything is created and started at the provider: from now on we poll. */
    public void submitted(Job job) {
        ProviderAdapter provider = providers.get(job.provider());
        ledger.markSubmitted(job.id(), Instant.now().plus(provider.pollDeadline()));
        ledger.setNextAt(job.id(), Instant.now().plus(provider.pollInterval()));
        ledger.clearProviderHealth(job.provider());
        ledger.event(job.id(), Stage.SUBMIT, "submitted to " + job.provider() + "; polling every " + every(provider.pollInterval()));
        archive.releaseLocalCopy(job);
        LOG.infof("Job %s submitted to %s", job.id(), job.provider());
    }

    private static String every(java.time.Duration interval) {
        return interval.toMillis() % 1000 == 0 ? interval.toSeconds() + " s" : interval.toMillis() + " ms";
    }

    /** Applies one look at the provider: per-language states, then download, wait, or fail. */
    public void applyStatus(Exchange exchange) {
        PollOutcome outcome = exchange.getMessage().getBody(PollOutcome.class);
        String jobId = exchange.getMessage().getHeader("hubJobId", String.class);
        Job job = ledger.load(jobId);
        ProviderAdapter provider = providers.get(job.provider());
        Map<String, JobTarget> targets = ledger.targets(jobId).stream().collect(Collectors.toMap(JobTarget::language, t -> t));
        outcome.languages().forEach((lang, status) -> {
            JobTarget t = targets.get(lang);
            TargetState next = switch (status.status()) {
                case DONE -> TargetState.DONE;
                case FAILED -> TargetState.FAILED;
                case RUNNING -> TargetState.RUNNING;
            };
            if (t != null && t.state() != next && t.state() != TargetState.DELIVERED) {
                ledger.upsertTarget(jobId, lang, null, next, next == TargetState.FAILED ? status.detail() : null);
                ledger.event(jobId, Stage.POLL, lang + ": " + status.detail());
            }
        });
        ledger.resetAttempts(jobId);
        if (outcome.finished()) {
            if (outcome.anyDone()) {
                ledger.setState(jobId, JobState.DOWNLOADING, Stage.DOWNLOAD, null, null);
                ledger.setNextAt(jobId, Instant.now());
            } else {
                String reasons = outcome.languages().values().stream().map(PollOutcome.LanguageStatus::detail)
                        .distinct().collect(Collectors.joining("; "));
                failures.fail(jobId, Stage.POLL, "no language succeeded: " + reasons, null);
            }
            return;
        }
        Instant now = Instant.now();
        if (job.state() == JobState.PROCESSING && job.deadlineAt() != null && now.isAfter(job.deadlineAt())) {
            ledger.setState(jobId, JobState.STUCK, Stage.POLL, "still running at " + job.provider() + " after "
                    + provider.pollDeadline().toHours() + " h (" + outcome.summary() + "); still polling, every "
                    + provider.pollInterval().multipliedBy(6).toSeconds() + " s", null);
            ledger.event(jobId, Stage.POLL, "stuck: past its deadline, " + outcome.summary());
            LOG.warnf("Job %s is stuck at %s: %s", jobId, job.provider(), outcome.summary());
        }
        boolean stuck = ledger.load(jobId).state() == JobState.STUCK;
        ledger.setNextAt(jobId, now.plus(stuck ? provider.pollInterval().multipliedBy(6) : provider.pollInterval()));
        LOG.debugf("Job %s: %s", jobId, outcome.summary());
    }

    /** After a stage: go on at once when the next stage is due now, else release until it is. */
    public void next(Exchange exchange) {
        String jobId = exchange.getMessage().getHeader("hubJobId", String.class);
        Job job = ledger.find(jobId).orElse(null);
        if (job == null || !job.state().active()) {
            work.forget(jobId);
            work.refill();
            return;
        }
        if (!job.nextAt().isAfter(Instant.now())) {
            work.requeue(jobId);
        } else {
            ledger.release(jobId, job.nextAt());
            work.forget(jobId);
            work.refill();
        }
    }
}
