package io.dubhub.intake;

import io.dubhub.config.HubConfig;
import io.dubhub.http.BulkHttp;
import io.dubhub.ledger.JobLedger;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.Exchange;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.job.Job;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The watch-bucket template's scanner: lists a bucket prefix and registers each object once.
 * The ledger key is {@code s3://bucket/key|etag|size}, so an object seen on every scan is one
 * job, and a new version of the same key (new ETag) is a new job. Objects are left in the bucket.
 * Each object is copied (streamed) to {@code <data-dir>/.work/s3/<bucket>/<etag>/<key>} and then
 * registered through {@link Intake#register}, exactly like a dropped file.
 */
@ApplicationScoped
@Named("bucketIntake")
public class BucketIntake {

    private static final Logger LOG = Logger.getLogger(BucketIntake.class);

    /** The hub's own area inside a watched prefix (archives, deliveries): never taken as sources. */
    public static final String HUB_PREFIX = "_dubhub/";
    /** How long the presigned GET by which an object is copied in stays valid; the copy itself may take longer. */
    private static final Duration COPY_LINK_VALIDITY = Duration.ofHours(1);
    public static final String DEFAULT_PARTIAL_SUFFIXES = ".part,.tmp,.crdownload,.partial,.uploading";

    @Inject
    Instance<S3Client> s3;

    @Inject
    Instance<S3Presigner> presigner;

    @Inject
    BulkHttp bulk;

    @Inject
    Intake intake;

    @Inject
    JobLedger ledger;

    @Inject
    ProviderRegistry providers;

    @Inject
    HubConfig config;

    @Inject
    ObjectMapper json;

    /** Last problem per route (missing bucket, access denied), for the log and the health check. */
    private final Map<String, String> problems = new ConcurrentHashMap<>();

    /**
     * Per route (and bucket/prefix), what the last listing showed: key → "etag|size". An object
     * listed again unchanged is skipped without asking the ledger; only keys that are new or
     * changed since the last poll are looked up. The first listing after a start loads the
     * route's known source keys in one ledger query. Keys that vanish from the listing are dropped,
     * so memory follows the live objects, not history.
     */
    private final Map<String, Map<String, String>> seen = new ConcurrentHashMap<>();
    private final Map<String, ScanStats> lastScan = new ConcurrentHashMap<>();
    /**
     * Objects the hub itself moved away or deleted (afterJob), "bucket/key": the listing memory must
     * not take the same bytes uploaded there again for the object it already knew, even when no poll
     * saw the key gone in between. Dropped once a poll sees the key is gone or takes its new upload.
     */
    private final java.util.Set<String> removedByHub = ConcurrentHashMap.newKeySet();

    /** What one poll of one route cost: for the log at debug level, the bench and tests. */
    public record ScanStats(int listed, int listRequests, int ledgerLookups, int taken, long millis) {
    }

    /** The route's options besides the job defaults; {@link #DEFAULT} is the template's defaults. */
    public record RouteOptions(String sink, BucketSource.AfterJob afterJob, String donePrefix, String failedPrefix) {
        public static final RouteOptions DEFAULT = new RouteOptions(null, BucketSource.AfterJob.KEEP,
                BucketSource.DEFAULT_DONE_PREFIX, BucketSource.DEFAULT_FAILED_PREFIX);
    }

    /** Route entry point: the template's parameters arrive as headers; the body becomes the new job ids. */
    public List<String> scanRoute(Exchange exchange) {
        var m = exchange.getMessage();
        String routeId = exchange.getFromRouteId();
        RouteOptions options;
        try {
            options = options(m.getHeader("hubSink", String.class), m.getHeader("hubAfterJob", String.class),
                    m.getHeader("hubDonePrefix", String.class), m.getHeader("hubFailedPrefix", String.class));
        } catch (IllegalArgumentException e) {
            problem(routeId, "route options: " + e.getMessage() + "; nothing is taken until the route is fixed");
            return List.of();
        }
        return scan(routeId, m.getHeader("hubBucket", String.class), m.getHeader("hubPrefix", String.class),
                m.getHeader("hubProvider", String.class),
                new JobSpecReader.Defaults(m.getHeader("hubSourceLanguage", String.class),
                        m.getHeader("hubTargetLanguages", String.class), m.getHeader("hubOptions", String.class)),
                m.getHeader("hubPartialSuffixes", String.class), options);
    }

    /** Reads and checks the template's sink / afterJob / donePrefix / failedPrefix parameters. */
    public static RouteOptions options(String sink, String afterJob, String donePrefix, String failedPrefix) {
        String s = sink == null || sink.isBlank() ? null : io.dubhub.s3.S3Location.parse(sink).toString();
        String done = BucketSource.normalizePrefix(donePrefix, BucketSource.DEFAULT_DONE_PREFIX);
        String failed = BucketSource.normalizePrefix(failedPrefix, BucketSource.DEFAULT_FAILED_PREFIX);
        if (done.isEmpty() || failed.isEmpty()) {
            throw new IllegalArgumentException("donePrefix and failedPrefix must not be empty (they would move objects onto themselves)");
        }
        return new RouteOptions(s, BucketSource.AfterJob.parse(afterJob), done, failed);
    }

    public List<String> scan(String routeId, String bucket, String prefix, String provider, JobSpecReader.Defaults defaults,
                             String partialSuffixes) {
        return scan(routeId, bucket, prefix, provider, defaults, partialSuffixes, RouteOptions.DEFAULT);
    }

    public List<String> scan(String routeId, String bucket, String prefix, String provider, JobSpecReader.Defaults defaults,
                             String partialSuffixes, RouteOptions options) {
        long started = System.nanoTime();
        String p = prefix == null ? "" : prefix;
        List<String> partial = Arrays.stream((partialSuffixes == null ? DEFAULT_PARTIAL_SUFFIXES : partialSuffixes).split(","))
                .map(String::trim).filter(x -> !x.isEmpty()).map(x -> x.toLowerCase(Locale.ROOT)).toList();
        ProviderAdapter adapter = providers.find(provider).orElse(null);
        if (adapter == null || !adapter.enabled()) {
            problem(routeId, adapter == null
                    ? "provider '" + provider + "' does not exist; objects in s3://" + bucket + "/" + p + " stay untouched"
                    : provider + " is disabled (" + adapter.disabledReason().orElse("?") + "); objects in s3://" + bucket + "/" + p
                    + " wait until it is configured");
            return List.of();
        }
        // Outputs delivered into the watched prefix itself must never come back as sources.
        String sinkInside = null;
        if (options.sink() != null) {
            io.dubhub.s3.S3Location sink = io.dubhub.s3.S3Location.parse(options.sink());
            if (sink.bucket().equals(bucket)) {
                sinkInside = sink.prefix();
            }
        }
        String memoryKey = routeId + "|" + bucket + "|" + p;
        Map<String, String> memory = seen.get(memoryKey);
        Map<String, Job> known = null;
        if (memory == null) {
            known = new HashMap<>();
            for (Job j : ledger.jobsWithSourceKeyStartingWith("s3://" + bucket + "/" + p)) {
                known.put(j.sourceKey(), j);
            }
        }
        Map<String, String> listedNow = new HashMap<>();
        List<String> created = new ArrayList<>();
        int listed = 0;
        int pages = 0;
        int lookups = known == null ? 0 : 1;
        try {
            S3Client client = s3.get();
            for (var page : client.listObjectsV2Paginator(l -> l.bucket(bucket).prefix(p))) {
                pages++;
                for (S3Object object : page.contents()) {
                    listed++;
                    String key = object.key();
                    String relative = key.substring(Math.min(p.length(), key.length()));
                    if (!candidate(relative, partial) || relative.startsWith(options.donePrefix())
                            || relative.startsWith(options.failedPrefix()) || (sinkInside != null && key.startsWith(sinkInside))) {
                        continue;
                    }
                    String etag = object.eTag() == null ? "" : object.eTag().replace("\"", "");
                    String version = etag + "|" + object.size();
                    boolean uploadedAgain = removedByHub.remove(bucket + "/" + key);
                    if (memory != null && version.equals(memory.get(key)) && !uploadedAgain) {
                        listedNow.put(key, version);
                        continue;
                    }
                    String sourceKey = "s3://" + bucket + "/" + key + "|" + version;
                    Job previous;
                    if (known != null) {
                        previous = known.get(sourceKey);
                    } else {
                        lookups++;
                        previous = ledger.findBySourceKey(sourceKey).orElse(null);
                    }
                    if (previous != null && !droppedAgain(previous, memory != null)) {
                        listedNow.put(key, version);
                        continue;
                    }
                    BucketSource source = new BucketSource(bucket, key, etag, object.size(), p, options.afterJob(),
                            options.donePrefix(), options.failedPrefix());
                    Taken taken = take(client, routeId, source, sourceKey, previous, provider, defaults, options.sink());
                    if (taken.settled()) {
                        listedNow.put(key, version);
                    }
                    if (taken.jobId() != null) {
                        created.add(taken.jobId());
                    }
                }
            }
            seen.put(memoryKey, listedNow);
            String here = bucket + "/" + p;
            removedByHub.removeIf(k -> k.startsWith(here) && !listedNow.containsKey(k.substring(bucket.length() + 1)));
            if (problems.remove(routeId) != null) {
                LOG.infof("Route %s: s3://%s/%s is readable again", routeId, bucket, p);
            }
        } catch (SdkException e) {
            problem(routeId, listProblem(e, bucket, p));
        } catch (CopyRefused e) {
            problem(routeId, e.getMessage());
        }
        ScanStats stats = new ScanStats(listed, pages, lookups, created.size(), (System.nanoTime() - started) / 1_000_000);
        lastScan.put(routeId, stats);
        LOG.debugf("Route %s: %s", routeId, stats);
        return created;
    }

    /**
     * A known source key listed again after it had vanished: the hub moved or deleted the object
     * when its job ended and someone uploaded the same bytes again — a new drop, which
     * {@link Intake#register} turns into a retry (failed before) or a "duplicate" notice
     * (delivered before). An object the route keeps in place is just the same object again.
     */
    private boolean droppedAgain(Job previous, boolean vanishedSinceLastPoll) {
        if (!vanishedSinceLastPoll || previous.state().active() || previous.state() == io.dubhub.job.JobState.RECEIVED) {
            return false;
        }
        String text = ledger.sourceObjectOf(previous.id());
        return text != null && !text.contains("\"afterJob\":\"keep\"");
    }

    /** The hub moved or deleted this object after its job (see {@link #removedByHub}). */
    public void forget(String bucket, String key) {
        removedByHub.add(bucket + "/" + key);
    }

    /** Last scan's figures per route id. */
    public Optional<ScanStats> lastScan(String routeId) {
        return Optional.ofNullable(lastScan.get(routeId));
    }

    /**
     * Why s3://bucket/prefix cannot be listed now, or empty when it can: a routes file's watch-bucket
     * entry is checked with this before it is applied (io.dubhub.routes), in the same words as a scan.
     */
    public Optional<String> probe(String bucket, String prefix) {
        String p = prefix == null ? "" : prefix;
        try {
            s3.get().listObjectsV2(l -> l.bucket(bucket).prefix(p).maxKeys(1));
            return Optional.empty();
        } catch (SdkException e) {
            return Optional.of(listProblem(e, bucket, p));
        } catch (RuntimeException e) {
            return Optional.of("cannot set up the S3 client for s3://" + bucket + "/" + p + " (HUB_S3_*): " + e.getMessage());
        }
    }

    private static String listProblem(SdkException e, String bucket, String p) {
        if (e instanceof NoSuchBucketException) {
            return "bucket '" + bucket + "' does not exist (or is not visible with these credentials)";
        }
        if (e instanceof S3Exception s3e) {
            return "cannot list s3://" + bucket + "/" + p + ": " + s3e.statusCode() + " "
                    + (s3e.awsErrorDetails() == null ? s3e.getMessage() : s3e.awsErrorDetails().errorCode());
        }
        return "cannot reach S3 for s3://" + bucket + "/" + p + ": " + e.getMessage();
    }

    /** Route id → problem, for the health check. */
    public Map<String, String> problems() {
        return Map.copyOf(problems);
    }

    private void problem(String routeId, String reason) {
        String before = problems.put(routeId, reason);
        if (!reason.equals(before)) {
            LOG.errorf("Route %s: %s", routeId, reason);
        }
    }

    static boolean candidate(String relativeKey, List<String> partialSuffixes) {
        if (relativeKey.isEmpty() || relativeKey.endsWith("/")) {
            return false;
        }
        if (relativeKey.startsWith(HUB_PREFIX) || relativeKey.contains("/" + HUB_PREFIX)) {
            return false;
        }
        String name = relativeKey.substring(relativeKey.lastIndexOf('/') + 1);
        String lower = name.toLowerCase(Locale.ROOT);
        if (name.startsWith(".") || lower.endsWith(Intake.SIDECAR_SUFFIX) || lower.endsWith(".error.json")) {
            return false;
        }
        return partialSuffixes.stream().noneMatch(lower::endsWith);
    }

    /** jobId when a new job was registered; settled = nothing more to do for this version of the key. */
    private record Taken(String jobId, boolean settled) {
    }

    /** {@code previous}: the job this version of the key had when the scan looked (null = none; else it is being dropped again). */
    private Taken take(S3Client client, String routeId, BucketSource source, String sourceKey, Job previous, String provider,
                       JobSpecReader.Defaults defaults, String sink) {
        String bucket = source.bucket();
        String key = source.key();
        String etag = source.etag();
        Path base = Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".work").resolve("s3");
        Path file = base.resolve(safe(bucket)).resolve(etag.isEmpty() ? "no-etag" : safe(etag)).resolve(key).normalize();
        if (!file.startsWith(base.resolve(safe(bucket))) || file.getFileName() == null) {
            problem(routeId, "key " + key + " in s3://" + bucket + " does not map to a local file name; skipped");
            return new Taken(null, true);
        }
        Path sidecar = file.resolveSibling(file.getFileName() + Intake.SIDECAR_SUFFIX);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = attemptFile(file);
            long started = System.nanoTime();
            // Streamed to disk and hashed on the way (one read of the object, none of the file); If-Match:
            // the bytes are the version we listed, not a newer upload. A presigned GET so the bytes move on
            // the bulk client (the SDK's URL-connection client reads them in small pieces).
            URI url = URI.create(presigner.get().presignGetObject(g -> g.signatureDuration(COPY_LINK_VALIDITY)
                    .getObjectRequest(o -> o.bucket(bucket).key(key))).url().toString());
            BulkHttp.Fetched copied = bulk.get(url, etag.isEmpty() ? Map.of() : Map.of("If-Match", "\"" + etag + "\""), tmp);
            if (copied.status() == 412 || copied.status() == 404) {
                LOG.debugf("s3://%s/%s changed or vanished while being taken; the next scan sees its new state", bucket, key);
                return new Taken(null, false);
            }
            if (!copied.ok()) {
                throw new CopyRefused("cannot copy s3://" + bucket + "/" + key + " (HTTP " + copied.status() + " "
                        + s3ErrorCode(copied.answer().body()) + "): the hub's S3 account may list the bucket but not read its objects");
            }
            double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
            LOG.infof("Copied s3://%s/%s: %d bytes in %.2f s (%.0f MiB/s, SHA-256 included)", bucket, key, copied.bytes(), seconds,
                    copied.bytes() / seconds / (1024 * 1024));
            Job now = ledger.findBySourceKey(sourceKey).orElse(null);
            if (now != null && (previous == null || !now.id().equals(previous.id()))) {
                // another replica took this version while we copied it: its job has the object, ours is not needed
                Files.deleteIfExists(tmp);
                LOG.debugf("s3://%s/%s was taken by another replica during the copy", bucket, key);
                return new Taken(null, true);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(sidecar);
            try {
                Path sidecarTmp = attemptFile(sidecar);
                client.getObject(g -> g.bucket(bucket).key(key + Intake.SIDECAR_SUFFIX), ResponseTransformer.toFile(sidecarTmp));
                Files.move(sidecarTmp, sidecar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchKeyException noSidecar) {
                // the template's defaults apply
            }
            String sha256 = copied.sha256();
            String id = intake.register(provider, routeId, sourceKey, file, file.getFileName().toString(), Files.size(file), sha256,
                    defaults, sink, source.toJson(json));
            return new Taken(id, true);
        } catch (S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 404) {
                LOG.debugf("s3://%s/%s changed or vanished while being taken; the next scan sees its new state", bucket, key);
                return new Taken(null, false);
            }
            throw e;
        } catch (IOException e) {
            LOG.errorf("Route %s: cannot copy s3://%s/%s to %s: %s", routeId, bucket, key, file, e.getMessage());
            return new Taken(null, false);
        }
    }

    /** A hidden temp name beside {@code file}, one per attempt: replicas sharing a data folder may copy the same object at once. */
    private static Path attemptFile(Path file) {
        return file.resolveSibling("." + file.getFileName() + "." + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong())
                + ".download");
    }

    /** An object the listing showed but whose bytes the store refused: stops the scan, shown like a listing problem. */
    private static final class CopyRefused extends RuntimeException {
        CopyRefused(String message) {
            super(message, null, false, false);
        }
    }

    /** S3's error code out of its XML error body ("AccessDenied"), or the status alone. */
    private static String s3ErrorCode(String body) {
        if (body != null) {
            int a = body.indexOf("<Code>");
            int b = body.indexOf("</Code>");
            if (a >= 0 && b > a) {
                return body.substring(a + 6, b);
            }
        }
        return "no error code in the answer";
    }

    private static String safe(String segment) {
        return segment.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
