package io.dubhub.delivery;

import io.dubhub.config.HubConfig;
import io.dubhub.http.BulkHttp;
import io.dubhub.http.UrlRedactor;
import io.dubhub.job.HostedOutput;
import io.dubhub.job.Job;
import io.dubhub.job.JobOutput;
import io.dubhub.job.Stage;
import io.dubhub.pipeline.CrashPoints;
import io.dubhub.ledger.JobLedger;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.OutputLink;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Header;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Streams one provider output into the job's sink folder with constant memory: bytes go through
 * a SHA-256 digest ({@link BulkHttp#get}) into a temp file under .work/, which is renamed into the outbox only when
 * complete, so a consumer never sees half a file. An expired presigned link is refreshed from the
 * provider and the download tried again, not counted as a failure.
 */
@ApplicationScoped
@Named("outputDownloader")
public class OutputDownloader {

    private static final Logger LOG = Logger.getLogger(OutputDownloader.class);
    private static final int MAX_REFRESHES = 2;

    @Inject
    BulkHttp bulk;

    @Inject
    JobLedger ledger;

    @Inject
    ProviderRegistry providers;

    @Inject
    Sinks sinks;

    @Inject
    HubMetrics metrics;

    @Inject
    HubConfig config;

    @Inject
    com.fasterxml.jackson.databind.ObjectMapper json;

    public void download(OutputLink link, @Header("hubJobId") String jobId) {
        if (link.isHosted()) {
            recordHosted(link, jobId);
            return;
        }
        Job job = ledger.load(jobId);
        String relative = link.language() + "/" + safeName(link.fileName());
        JobSink target = sinks.sinkFor(job);
        for (JobOutput done : ledger.outputs(jobId)) {
            if (done.path().equals(relative) && done.type().equals(link.type()) && target.holds(relative, done.bytes())) {
                return; // delivered before a restart
            }
        }
        OutputLink current = link;
        for (int refresh = 0; ; refresh++) {
            try {
                fetch(job, current, target, relative);
                return;
            } catch (ExpiredLinkException e) {
                if (refresh >= MAX_REFRESHES) {
                    throw new ProviderException(job.provider(), Kind.TRANSIENT, Stage.DOWNLOAD, 403,
                            "the " + link.type() + " link stayed expired after " + MAX_REFRESHES + " refreshes", e.getMessage());
                }
                LOG.infof("Job %s: %s link expired, asking %s for a fresh one", jobId, link.type(), job.provider());
                ledger.event(jobId, Stage.DOWNLOAD, link.language() + " " + link.type() + ": link expired, refreshed from " + job.provider());
                current = providers.get(job.provider()).refresh(job, current);
            }
        }
    }

    private void fetch(Job job, OutputLink link, JobSink target, String relative) {
        Path work = sinks.workFolder(job).resolve(link.language() + "." + safeName(link.fileName()) + ".part");
        long started = System.nanoTime();
        BulkHttp.Fetched fetched;
        try {
            Files.createDirectories(work.getParent());
            fetched = bulk.get(link.url(), link.headers(), work);
        } catch (IOException e) {
            metrics.providerCall(job.provider(), "download", 0, System.nanoTime() - started);
            deleteQuietly(work);
            String what = "download of " + link.language() + " " + link.type() + " from " + UrlRedactor.redact(link.url());
            if (DiskFull.is(e)) {
                // Not the provider's fault and not worth a retry attempt: the job waits until there is room again.
                throw DiskFull.hold(job, Stage.DOWNLOAD, work.getParent(), "the download of " + link.language() + " " + link.type(),
                        config.poll().maxBackoff());
            }
            if (e instanceof BulkHttp.ChecksumMismatchException) {
                throw new ProviderException(job.provider(), Kind.TRANSIENT, Stage.DOWNLOAD,
                        what + " arrived damaged (" + e.getMessage() + "); downloading it again", e);
            }
            throw new ProviderException(job.provider(), Kind.TRANSIENT, Stage.DOWNLOAD, what + " broke off: " + bulk.explain(e), e);
        }
        int status = fetched.status();
        metrics.providerCall(job.provider(), "download", status, System.nanoTime() - started);
        if (!fetched.ok()) {
            String body = fetched.answer().body() == null ? "" : fetched.answer().body();
            body = body.length() > 2000 ? body.substring(0, 2000) : body;
            String lower = body.toLowerCase(Locale.ROOT);
            if ((status == 403 || status == 400 || status == 401) && (lower.contains("expired") || lower.contains("accessdenied"))) {
                throw new ExpiredLinkException(UrlRedactor.redact(link.url()) + ": " + body);
            }
            Kind kind = status >= 500 || status == 429 ? Kind.TRANSIENT : Kind.REJECTED;
            throw new ProviderException(job.provider(), kind, Stage.DOWNLOAD, status,
                    "download of " + link.language() + " " + link.type() + " answered HTTP " + status, body);
        }
        long bytes = fetched.bytes();
        String sha256 = fetched.sha256();
        double downloadSeconds = (System.nanoTime() - started) / 1e9;
        CrashPoints.reached(CrashPoints.MID_DOWNLOAD);
        try {
            target.put(relative, work);
        } catch (IOException | SdkException e) {
            deleteQuietly(work);
            if (DiskFull.is(e)) {
                throw DiskFull.hold(job, Stage.DELIVER, sinks.outbox(), "delivering " + relative, config.poll().maxBackoff());
            }
            throw new ProviderException(job.provider(), Kind.TRANSIENT, Stage.DELIVER,
                    "cannot write " + relative + " to " + target.describe() + ": " + e.getMessage(), e);
        }
        metrics.bytesMoved(job.provider(), "download", bytes);
        ledger.recordOutput(job.id(), new JobOutput(link.language(), link.type(), relative, bytes, sha256, metadataJson(link)));
        LOG.infof("Job %s: delivered %s (%d bytes, downloaded in %.2f s) to %s", job.id(), relative, bytes,
                downloadSeconds, target.describe());
    }

    /** The provider keeps this output and serves it itself: its link goes into the manifest, no bytes move. */
    private void recordHosted(OutputLink link, String jobId) {
        ledger.recordHostedOutput(jobId, new HostedOutput(link.language(), link.type(), link.providerRef(),
                link.url().toString(), link.hostedDetails()));
        LOG.infof("Job %s: %s %s %s is hosted by the provider at %s", jobId, link.language(), link.type(), link.providerRef(),
                UrlRedactor.redact(link.url()));
    }

    private String metadataJson(OutputLink link) {
        if (link.metadata().isEmpty()) {
            return null;
        }
        try {
            return json.writeValueAsString(link.metadata());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("output metadata is not JSON-serialisable: " + e.getMessage(), e);
        }
    }

    /** Output names come from the provider: keep them to one plain file name inside the folder. */
    static String safeName(String name) {
        String cleaned = name.replace('\\', '_').replace('/', '_').replace("\0", "");
        while (cleaned.startsWith(".")) {
            cleaned = cleaned.substring(1);
        }
        return cleaned.isBlank() ? "output.bin" : cleaned;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a stray .part under .work/ is harmless and overwritten next time
        }
    }

    static final class ExpiredLinkException extends RuntimeException {
        ExpiredLinkException(String message) {
            super(message);
        }
    }
}
