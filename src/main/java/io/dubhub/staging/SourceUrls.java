package io.dubhub.staging;

import io.dubhub.http.UrlPolicy;
import io.dubhub.job.Job;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
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
     * loopback address (the sandbox and tests). Never s3:// or anything else (SpeechLab's worker
     * rejects s3:// after taking the job).
     */
    public static boolean fetchableByProvider(URI url) {
        return UrlPolicy.httpsOrLoopback(url);
    }
}
