package io.dubhub.staging;

import io.dubhub.job.Job;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The URL a provider that pulls media (SpeechLab's createProjectAndDub, alugha, Vugola) fetches a
 * job's source from: a presigned GET of the original object for a bucket source (the provider
 * reads the bucket directly; no cloud key leaves the hub), the hub's own signed
 * {@code /staged/{token}} link for a folder source.
 */
@ApplicationScoped
public class SourceUrls {

    /** {@code s3://bucket/key|etag|size}, optionally followed by |retired:… or |duplicate:… (see Intake, JobLedger). */
    private static final Pattern BUCKET_SOURCE = Pattern.compile("^s3://([^/]+)/(.+)\\|([^|]*)\\|(\\d+)(?:\\|(?:retired|duplicate):.*)?$");

    @Inject
    StagedFiles staged;

    public record BucketObject(String bucket, String key) {
    }

    /** The bucket object a job was taken from, when it came from a watched bucket. */
    public static Optional<BucketObject> bucketObject(Job job) {
        String key = job.sourceKey();
        if (key == null) {
            return Optional.empty();
        }
        Matcher m = BUCKET_SOURCE.matcher(key);
        return m.matches() ? Optional.of(new BucketObject(m.group(1), m.group(2))) : Optional.empty();
    }

    /** A link to the job's source, valid for {@code ttl}. */
    public URI forProvider(Job job, Duration ttl) {
        return bucketObject(job)
                .map(o -> staged.stageObject(o.bucket(), o.key(), ttl))
                .orElseGet(() -> staged.stage(Path.of(job.sourceLocation()), ttl));
    }

    /**
     * Whether a provider on the internet can be given this URL: https always; plain http only to a
     * loopback address (the sandbox and tests, where hub and simulator share one machine).
     * Never s3:// or anything else (SpeechLab's worker rejects s3:// after taking the job).
     */
    public static boolean fetchableByProvider(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            return url.getHost() != null;
        }
        return scheme.equals("http") && isLoopback(url.getHost());
    }

    static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) {
            return false;
        }
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        // Only literal addresses: a name is not resolved here, so a DNS answer cannot turn a public name into "loopback".
        if (!h.matches("[0-9.]+") && !h.contains(":")) {
            return false;
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
