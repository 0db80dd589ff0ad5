package io.dubhub.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.job.HostedOutput;
import io.dubhub.job.Job;
import io.dubhub.job.JobEvent;
import io.dubhub.job.JobOutput;
import io.dubhub.job.JobState;
import io.dubhub.job.JobTarget;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.pipeline.CrashPoints;
import io.dubhub.ledger.JobLedger;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.pipeline.JobData;
import io.dubhub.pipeline.JobFailures;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Header;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Ends a job that reached its outputs: writes job.json last (temp name, then rename, so whoever
 * sees job.json sees a complete job), marks languages delivered, and archives the source.
 */
@ApplicationScoped
@Named("delivery")
public class Delivery {

    private static final Logger LOG = Logger.getLogger(Delivery.class);

    @Inject
    JobLedger ledger;

    @Inject
    Sinks sinks;

    @Inject
    SourceArchive archive;

    @Inject
    JobData jobData;

    @Inject
    ObjectMapper json;

    @Inject
    HubMetrics metrics;

    @Inject
    JobFailures failures;

    @Inject
    io.dubhub.spend.SpendGuard spendGuard;

    @Inject
    io.dubhub.config.HubConfig config;

    public void complete(@Header("hubJobId") String jobId) {
        Job job = ledger.load(jobId);
        List<JobOutput> outputs = ledger.outputs(jobId);
        List<HostedOutput> hosted = ledger.hostedOutputs(jobId);
        for (JobTarget t : ledger.targets(jobId)) {
            if (t.state() == TargetState.DONE) {
                boolean delivered = outputs.stream().anyMatch(o -> o.language().equals(t.language()))
                        || hosted.stream().anyMatch(h -> h.language().equals(t.language()));
                ledger.upsertTarget(jobId, t.language(), null, delivered ? TargetState.DELIVERED : TargetState.FAILED,
                        delivered ? null : job.provider() + " reported it done but offered no output for it");
            }
        }
        List<JobTarget> targets = ledger.targets(jobId);
        long failed = targets.stream().filter(t -> t.state() == TargetState.FAILED).count();
        long delivered = targets.stream().filter(t -> t.state() == TargetState.DELIVERED).count();
        if (delivered == 0) {
            failures.fail(jobId, Stage.DELIVER, "no output could be delivered: " + targets.stream()
                    .map(t -> t.language() + ": " + t.reason()).collect(Collectors.joining("; ")), null);
            return;
        }
        JobState end = failed == 0 ? JobState.DELIVERED : JobState.PARTIAL;
        String reason = failed == 0 ? null : "failed: " + targets.stream().filter(t -> t.state() == TargetState.FAILED)
                .map(t -> t.language() + " (" + t.reason() + ")").collect(Collectors.joining("; "));
        JobSink folder = sinks.sinkFor(job);
        ledger.event(jobId, Stage.DELIVER, (end == JobState.DELIVERED ? "delivered " : "partly delivered ") + outputs.size()
                + " file(s) to " + folder.describe()
                + (hosted.isEmpty() ? "" : ", " + hosted.size() + " output(s) hosted by " + job.provider())
                + (reason == null ? "" : "; " + reason));
        // The manifest is written before the ledger says the job ended: a crash in between
        // writes it again, never leaves a delivered job without one.
        CrashPoints.reached(CrashPoints.BEFORE_MANIFEST);
        writeManifest(ledger.load(jobId), folder, end, reason);
        CrashPoints.reached(CrashPoints.AFTER_MANIFEST);
        ledger.setState(jobId, end, Stage.DELIVER, reason, null);
        archive.toDone(job);
        deleteWorkFolder(job);
        metrics.jobFinished(job.provider(), end.name());
        spendGuard.settled(ledger.load(jobId));
        LOG.infof("Job %s %s: %d file(s) in %s%s", jobId, end == JobState.DELIVERED ? "delivered" : "partly delivered",
                outputs.size(), folder.describe(), reason == null ? "" : " — " + reason);
    }

    void writeManifest(Job job, JobSink folder, JobState state, String reason) {
        Instant finished = Instant.now();
        ObjectNode m = json.createObjectNode();
        m.put("jobId", job.id());
        m.put("provider", job.provider());
        m.put("route", job.routeId());
        m.put("state", state.name().toLowerCase());
        if (reason != null) {
            m.put("reason", reason);
        }
        ObjectNode source = m.putObject("source");
        source.put("name", job.sourceName());
        source.put("size", job.sourceSize());
        source.put("sha256", job.sourceSha256());
        if (job.mediaJson() != null) {
            source.set("media", jobData.tree(job.mediaJson()));
        }
        m.set("spec", jobData.tree(job.specJson()));
        ObjectNode ids = m.putObject("providerIds");
        if (job.providerRef() != null) {
            ids.put("project", job.providerRef());
        }
        ObjectNode languages = m.putObject("languages");
        for (JobTarget t : ledger.targets(job.id())) {
            ObjectNode l = languages.putObject(t.language());
            l.put("state", t.state() == TargetState.DELIVERED ? "delivered" : t.state().name().toLowerCase());
            if (t.providerRef() != null) {
                l.put("providerId", t.providerRef());
            }
            if (t.reason() != null) {
                l.put("reason", t.reason());
            }
        }
        ArrayNode calls = m.putArray("providerCalls");
        for (ProviderCall c : ledger.calls(job.id())) {
            ObjectNode n = calls.addObject();
            n.put("operation", c.operation());
            n.put("scope", c.scope());
            n.put("state", c.state().name().toLowerCase());
            if (c.providerRef() != null) {
                n.put("providerId", c.providerRef());
            }
        }
        ObjectNode timings = m.putObject("timings");
        timings.put("receivedAt", String.valueOf(job.createdAt()));
        timings.put("submittedAt", job.submittedAt() == null ? null : job.submittedAt().toString());
        timings.put("finishedAt", finished.toString());
        timings.put("totalSeconds", Duration.between(job.createdAt(), finished).toSeconds());
        if (job.credits() != null) {
            m.put("credits", job.credits());
        } else {
            m.putNull("credits");
        }
        ArrayNode outputs = m.putArray("outputs");
        for (JobOutput o : ledger.outputs(job.id())) {
            ObjectNode n = outputs.addObject();
            n.put("language", o.language());
            n.put("type", o.type());
            n.put("path", o.path());
            n.put("bytes", o.bytes());
            n.put("sha256", o.sha256());
            if (o.metadata() != null) {
                n.set("metadata", jobData.tree(o.metadata()));
            }
        }
        List<HostedOutput> hostedOutputs = ledger.hostedOutputs(job.id());
        if (!hostedOutputs.isEmpty()) {
            // Kept and served by the provider: their links, not files of ours.
            ArrayNode hosted = m.putArray("hosted");
            for (HostedOutput h : hostedOutputs) {
                ObjectNode n = hosted.addObject();
                n.put("language", h.language());
                n.put("type", h.type());
                n.put("providerId", h.providerRef());
                n.put("url", h.url());
                if (!h.details().isEmpty()) {
                    ObjectNode details = n.putObject("details");
                    h.details().forEach(details::put);
                }
            }
        }
        ArrayNode events = m.putArray("events");
        for (JobEvent e : ledger.events(job.id())) {
            ObjectNode n = events.addObject();
            n.put("at", e.at().toString());
            n.put("stage", e.stage());
            n.put("message", e.message());
        }
        try {
            folder.writeManifest(json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m)
                    .getBytes(StandardCharsets.UTF_8));
        } catch (IOException | software.amazon.awssdk.core.exception.SdkException e) {
            if (DiskFull.is(e)) {
                throw DiskFull.hold(job, Stage.DELIVER, sinks.workFolder(job), "writing job.json", config.poll().maxBackoff());
            }
            throw new io.dubhub.provider.ProviderException(job.provider(), io.dubhub.provider.ProviderException.Kind.TRANSIENT,
                    Stage.DELIVER, "cannot write job.json in " + folder.describe() + ": " + e.getMessage(), e);
        }
    }

    private void deleteWorkFolder(Job job) {
        Path work = sinks.workFolder(job);
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // nothing was left there
        }
    }
}
