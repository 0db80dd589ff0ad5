package io.dubhub.intake;

import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobState;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.ledger.JobLedger.NewJob;
import io.dubhub.pipeline.JobData;
import io.dubhub.pipeline.JobFailures;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * First stop of every dropped file: fingerprint it, read its job spec, and register it in the
 * ledger exactly once. The fingerprint (location + size + SHA-256) is what makes "never submitted
 * twice" hold across restarts and replicas; a changed file under the same name is a new job.
 */
@ApplicationScoped
@Named("intake")
public class Intake {

    private static final Logger LOG = Logger.getLogger(Intake.class);
    public static final String SIDECAR_SUFFIX = ".job.json";

    @Inject
    JobLedger ledger;

    @Inject
    JobSpecReader specReader;

    @Inject
    JobData jobData;

    @Inject
    JobFailures failures;

    @Inject
    ProviderRegistry providers;

    private final Set<String> disabledWarned = ConcurrentHashMap.newKeySet();

    /** Used as a filter by the watch routes: files for a disabled provider stay in the inbox. */
    public boolean accepts(@Header("hubProvider") String provider, @Header(Exchange.FILE_NAME) String fileName,
                           @Header("hubSink") String sink) {
        if (sink != null && !sink.isBlank()) {
            try {
                io.dubhub.s3.S3Location.parse(sink);
            } catch (IllegalArgumentException e) {
                if (disabledWarned.add("sink/" + sink + "/" + fileName)) {
                    LOG.errorf("The watch route for %s has an unusable sink: %s; %s stays in the inbox until the route is fixed",
                            provider, e.getMessage(), fileName);
                }
                return false;
            }
        }
        ProviderAdapter adapter = providers.find(provider).orElse(null);
        if (adapter == null) {
            if (disabledWarned.add(provider + "/" + fileName)) {
                LOG.errorf("The watch route names provider '%s', which does not exist (known: %s); %s stays in the inbox",
                        provider, String.join(", ", providers.all().keySet()), fileName);
            }
            return false;
        }
        if (!adapter.enabled()) {
            if (disabledWarned.add(provider + "/" + fileName)) {
                LOG.warnf("%s is disabled (%s); %s stays in the inbox until it is configured and the hub restarted",
                        provider, adapter.disabledReason().orElse("?"), fileName);
            }
            return false;
        }
        return true;
    }

    /**
     * Registers the file; sets header {@code hubJobId} when there is new work to do, leaves it unset
     * when the file is already known (in flight after a restart, or taken by another replica).
     */
    public void receive(Exchange exchange) {
        String provider = exchange.getMessage().getHeader("hubProvider", String.class);
        String routeId = exchange.getFromRouteId();
        Path file = Path.of(exchange.getMessage().getHeader(Exchange.FILE_PATH, String.class)).toAbsolutePath().normalize();
        String name = file.getFileName().toString();

        if (Files.isSymbolicLink(file)) {
            LOG.warnf("%s is a symbolic link; dubhub only takes regular files dropped into the inbox", name);
            rejectUnregistered(provider, routeId, file, "the file is a symbolic link; copy the real file into the inbox instead");
            return;
        }
        long size;
        String sha256;
        try {
            size = Files.size(file);
            sha256 = sha256(file);
        } catch (IOException e) {
            rejectUnregistered(provider, routeId, file, "cannot read the file: " + e.getMessage());
            return;
        }
        String sourceKey = "file:" + file + "|" + size + "|" + sha256;
        String sink = exchange.getMessage().getHeader("hubSink", String.class);
        String id = register(provider, routeId, sourceKey, file, name, size, sha256, new JobSpecReader.Defaults(
                exchange.getMessage().getHeader("hubSourceLanguage", String.class),
                exchange.getMessage().getHeader("hubTargetLanguages", String.class),
                exchange.getMessage().getHeader("hubOptions", String.class)), sink == null || sink.isBlank() ? null : sink.trim(), null);
        if (id != null) {
            exchange.getMessage().setHeader("hubJobId", id);
        }
    }

    /**
     * The one registration path of every intake (folder and bucket): dedupe by {@code sourceKey},
     * read the spec (sidecar {@code <file>.job.json} next to {@code file}, else the defaults) and
     * register the job. Returns the new job's id when there is work to do, null when the source is
     * already known or was rejected (its error.json is written).
     */
    public String register(String provider, String routeId, String sourceKey, Path file, String name, long size,
                           String sha256, JobSpecReader.Defaults defaults) {
        return register(provider, routeId, sourceKey, file, name, size, sha256, defaults, null, null);
    }

    /**
     * As above, with the route's sink ({@code s3://bucket/prefix}, null = the folder outbox) and, for
     * a bucket source, its {@link BucketSource} JSON: both kept in the ledger for the job's end.
     */
    public String register(String provider, String routeId, String sourceKey, Path file, String name, long size,
                           String sha256, JobSpecReader.Defaults defaults, String sink, String sourceObject) {
        Job previous = ledger.findBySourceKey(sourceKey).orElse(null);
        if (previous != null) {
            if (previous.state().active()) {
                LOG.debugf("%s is job %s, already %s", name, previous.id(), previous.state());
                return null;
            }
            if (previous.state() == JobState.DELIVERED || previous.state() == JobState.PARTIAL) {
                String id = JobIds.next();
                ledger.register(new NewJob(id, provider, routeId, sourceKey + "|duplicate:" + id, file.toString(), name, size, sha256, "{}",
                        sink, sourceObject));
                failures.reject(id, new JobRejectedException(Stage.INTAKE, "this exact file (same name, size and SHA-256) was already "
                        + "dubbed as job " + previous.id() + " on " + LocalDate.ofInstant(previous.createdAt(), ZoneOffset.UTC)
                        + " and delivered to " + (previous.outboxDir() == null ? "outbox/" + previous.sourceStem()
                        : io.dubhub.s3.S3Location.isS3(previous.outboxDir()) ? previous.outboxDir() : "outbox/" + previous.outboxDir())
                        + "; it was not submitted again, so nothing was paid twice"));
                return null;
            }
            // The earlier attempt failed: dropping the same file again is how an operator retries it.
            ledger.retireSourceKey(previous.id());
            LOG.infof("%s was job %s, which failed; dropping it again starts a new job", name, previous.id());
        }
        Path sidecar = file.resolveSibling(file.getFileName() + SIDECAR_SUFFIX);
        JobSpec spec = null;
        JobRejectedException specError = null;
        try {
            spec = specReader.read(defaults, sidecar, name);
        } catch (JobRejectedException e) {
            specError = e;
        }
        String id = JobIds.next();
        var registration = ledger.register(new NewJob(id, provider, routeId, sourceKey, file.toString(), name, size, sha256,
                spec == null ? "{}" : jobData.specJson(spec), sink, sourceObject));
        if (!registration.created()) {
            return null;
        }
        if (specError != null) {
            failures.reject(id, specError);
            return null;
        }
        LOG.infof("Job %s: %s (%d bytes) for %s → %s%s", id, name, size, provider, String.join(", ", spec.targetLanguages()),
                Files.exists(sidecar, LinkOption.NOFOLLOW_LINKS) ? " (from " + sidecar.getFileName() + ")" : "");
        return id;
    }

    /** A file we cannot even fingerprint still gets a job (so it shows in the API) and an error.json. */
    private void rejectUnregistered(String provider, String routeId, Path file, String reason) {
        String id = JobIds.next();
        long size = 0;
        try {
            size = Files.size(file);
        } catch (IOException ignored) {
            // unreadable: 0 is as good as anything for the record
        }
        ledger.register(new NewJob(id, provider, routeId, "file:" + file + "|unreadable:" + id, file.toString(),
                file.getFileName().toString(), size, "", "{}"));
        failures.reject(id, new JobRejectedException(Stage.INTAKE, reason));
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
