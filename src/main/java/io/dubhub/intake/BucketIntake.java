package io.dubhub.intake;

import io.dubhub.config.HubConfig;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
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
    public static final String DEFAULT_PARTIAL_SUFFIXES = ".part,.tmp,.crdownload,.partial,.uploading";

    @Inject
    Instance<S3Client> s3;

    @Inject
    Intake intake;

    @Inject
    JobLedger ledger;

    @Inject
    ProviderRegistry providers;

    @Inject
    HubConfig config;

    /** Last problem per route (missing bucket, access denied), for the log and the health check. */
    private final Map<String, String> problems = new ConcurrentHashMap<>();

    /** Route entry point: the template's parameters arrive as headers; the body becomes the new job ids. */
    public List<String> scanRoute(Exchange exchange) {
        var m = exchange.getMessage();
        return scan(exchange.getFromRouteId(), m.getHeader("hubBucket", String.class), m.getHeader("hubPrefix", String.class),
                m.getHeader("hubProvider", String.class),
                new JobSpecReader.Defaults(m.getHeader("hubSourceLanguage", String.class),
                        m.getHeader("hubTargetLanguages", String.class), m.getHeader("hubOptions", String.class)),
                m.getHeader("hubPartialSuffixes", String.class));
    }

    public List<String> scan(String routeId, String bucket, String prefix, String provider, JobSpecReader.Defaults defaults,
                             String partialSuffixes) {
        String p = prefix == null ? "" : prefix;
        List<String> partial = Arrays.stream((partialSuffixes == null ? DEFAULT_PARTIAL_SUFFIXES : partialSuffixes).split(","))
                .map(String::trim).filter(x -> !x.isEmpty()).map(x -> x.toLowerCase(Locale.ROOT)).toList();
        ProviderAdapter adapter = providers.find(provider).orElse(null);
        if (adapter == null || !adapter.enabled()) {
            problem(routeId, adapter == null
                    ? "provider '" + provider + "' does not exist; objects in s3://" + bucket + "/" + p + " stay untouched"
                    : provider + " is disabled (missing " + adapter.missingConfig().orElse("?") + "); objects in s3://" + bucket + "/" + p
                    + " wait until it is configured");
            return List.of();
        }
        List<String> created = new ArrayList<>();
        try {
            S3Client client = s3.get();
            for (S3Object object : client.listObjectsV2Paginator(l -> l.bucket(bucket).prefix(p)).contents()) {
                String key = object.key();
                if (!candidate(key.substring(Math.min(p.length(), key.length())), partial)) {
                    continue;
                }
                String etag = object.eTag() == null ? "" : object.eTag().replace("\"", "");
                String sourceKey = "s3://" + bucket + "/" + key + "|" + etag + "|" + object.size();
                if (ledger.findBySourceKey(sourceKey).isPresent()) {
                    continue;
                }
                String id = take(client, routeId, bucket, key, etag, object.size(), sourceKey, provider, defaults);
                if (id != null) {
                    created.add(id);
                }
            }
            if (problems.remove(routeId) != null) {
                LOG.infof("Route %s: s3://%s/%s is readable again", routeId, bucket, p);
            }
        } catch (SdkException e) {
            problem(routeId, listProblem(e, bucket, p));
        }
        return created;
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

    private String take(S3Client client, String routeId, String bucket, String key, String etag, long size, String sourceKey,
                        String provider, JobSpecReader.Defaults defaults) {
        Path base = Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".work").resolve("s3");
        Path file = base.resolve(safe(bucket)).resolve(etag.isEmpty() ? "no-etag" : safe(etag)).resolve(key).normalize();
        if (!file.startsWith(base.resolve(safe(bucket))) || file.getFileName() == null) {
            problem(routeId, "key " + key + " in s3://" + bucket + " does not map to a local file name; skipped");
            return null;
        }
        Path sidecar = file.resolveSibling(file.getFileName() + Intake.SIDECAR_SUFFIX);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("." + file.getFileName() + ".download");
            Files.deleteIfExists(tmp);
            // Streamed to disk; If-Match: the bytes are the version we listed, not a newer upload.
            client.getObject(g -> g.bucket(bucket).key(key).ifMatch(etag.isEmpty() ? null : "\"" + etag + "\""),
                    ResponseTransformer.toFile(tmp));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(sidecar);
            try {
                Path sidecarTmp = sidecar.resolveSibling("." + sidecar.getFileName() + ".download");
                Files.deleteIfExists(sidecarTmp);
                client.getObject(g -> g.bucket(bucket).key(key + Intake.SIDECAR_SUFFIX), ResponseTransformer.toFile(sidecarTmp));
                Files.move(sidecarTmp, sidecar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchKeyException noSidecar) {
                // the template's defaults apply
            }
            String sha256 = Intake.sha256(file);
            return intake.register(provider, routeId, sourceKey, file, file.getFileName().toString(), Files.size(file), sha256, defaults);
        } catch (S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 404) {
                LOG.debugf("s3://%s/%s changed or vanished while being taken; the next scan sees its new state", bucket, key);
                return null;
            }
            throw e;
        } catch (IOException e) {
            LOG.errorf("Route %s: cannot copy s3://%s/%s to %s: %s", routeId, bucket, key, file, e.getMessage());
            return null;
        }
    }

    private static String safe(String segment) {
        return segment.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
