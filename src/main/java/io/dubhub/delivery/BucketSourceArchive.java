package io.dubhub.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.intake.BucketSource;
import io.dubhub.intake.BucketSource.AfterJob;
import io.dubhub.intake.Intake;
import io.dubhub.job.Job;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What happens to a bucket source when its job ends, as its route said at intake ({@code afterJob}):
 * keep it, move it under the done/failed prefix (copy then delete, with its sidecar), or delete it
 * once delivered. A failed job's reasons go beside the source's final place as
 * {@code <key>.error.json}. Only the version the job took (its ETag) is moved or deleted: a newer
 * upload under the same key is a new job and stays. The hub's local copy is removed either way.
 */
@ApplicationScoped
public class BucketSourceArchive {

    private static final Logger LOG = Logger.getLogger(BucketSourceArchive.class);
    /** CopyObject's ceiling; larger objects are copied part by part (UploadPartCopy). */
    static long singleCopyLimit = 5L * 1024 * 1024 * 1024;
    static final long COPY_PART_SIZE = 512L * 1024 * 1024;

    @Inject
    Instance<S3Client> s3;

    @Inject
    ObjectMapper json;

    @Inject
    io.dubhub.ledger.JobLedger ledger;

    @Inject
    io.dubhub.intake.BucketIntake intake;

    /** The job's bucket source, when it came from a bucket. */
    public Optional<BucketSource> sourceOf(Job job) {
        String text = ledger.sourceObjectOf(job.id());
        return text == null || text.isBlank() ? Optional.empty() : Optional.of(BucketSource.fromJson(json, text));
    }

    public void toDone(Job job, BucketSource source) {
        try {
            switch (source.afterJob()) {
                case KEEP -> { }
                case MOVE -> moveTo(job, source, source.donePrefix());
                case DELETE -> {
                    if (stillTheTakenVersion(source)) {
                        s3.get().deleteObject(d -> d.bucket(source.bucket()).key(source.key()));
                        intake.forget(source.bucket(), source.key());
                        deleteQuietly(source.bucket(), source.key() + Intake.SIDECAR_SUFFIX);
                        LOG.infof("Job %s: deleted s3://%s/%s as the route asks (afterJob: delete)", job.id(), source.bucket(), source.key());
                    }
                }
            }
        } catch (SdkException e) {
            LOG.errorf("Job %s: could not %s s3://%s/%s: %s (the source stays where it is)", job.id(),
                    source.afterJob().name().toLowerCase(), source.bucket(), source.key(), e.getMessage());
        }
        deleteLocalCopy(job);
    }

    public void toFailed(Job job, BucketSource source, ObjectNode error) {
        String where = source.key();
        try {
            if (source.afterJob() != AfterJob.KEEP) {
                where = moveTo(job, source, source.failedPrefix()).orElse(source.key());
            }
        } catch (SdkException e) {
            LOG.errorf("Job %s: could not move s3://%s/%s to %s: %s", job.id(), source.bucket(), source.key(),
                    source.failedPrefix(), e.getMessage());
        }
        String errorKey = where + ".error.json";
        error.put("source", "s3://" + source.bucket() + "/" + source.key());
        error.put("retry", "Fix what the reason says, then upload the object to s3://" + source.bucket() + "/" + source.key()
                + " again: it becomes a new job.");
        try {
            byte[] body = json.writerWithDefaultPrettyPrinter().writeValueAsString(error).getBytes(StandardCharsets.UTF_8);
            s3.get().putObject(p -> p.bucket(source.bucket()).key(errorKey).contentType("application/json"), RequestBody.fromBytes(body));
        } catch (IOException | SdkException e) {
            LOG.errorf("Job %s: could not write s3://%s/%s: %s", job.id(), source.bucket(), errorKey, e.getMessage());
        }
        deleteLocalCopy(job);
    }

    /** Copies the taken version under {@code prefix} (a taken name gets the job id), then deletes the original. */
    private Optional<String> moveTo(Job job, BucketSource source, String prefix) {
        if (!stillTheTakenVersion(source)) {
            return Optional.empty();
        }
        S3Client client = s3.get();
        String target = source.watchPrefix() + prefix + source.relativeKey();
        if (exists(source.bucket(), target)) {
            String rel = source.relativeKey();
            int slash = rel.lastIndexOf('/');
            int dot = rel.lastIndexOf('.');
            String withId = dot > slash + 1 ? rel.substring(0, dot) + "." + job.id() + rel.substring(dot) : rel + "." + job.id();
            target = source.watchPrefix() + prefix + withId;
        }
        copy(client, source, target);
        client.deleteObject(d -> d.bucket(source.bucket()).key(source.key()));
        intake.forget(source.bucket(), source.key());
        String sidecar = source.key() + Intake.SIDECAR_SUFFIX;
        if (exists(source.bucket(), sidecar)) {
            String sidecarTarget = target + Intake.SIDECAR_SUFFIX;
            client.copyObject(c -> c.sourceBucket(source.bucket()).sourceKey(sidecar)
                    .destinationBucket(source.bucket()).destinationKey(sidecarTarget));
            client.deleteObject(d -> d.bucket(source.bucket()).key(sidecar));
        }
        LOG.infof("Job %s: moved s3://%s/%s to s3://%s/%s", job.id(), source.bucket(), source.key(), source.bucket(), target);
        return Optional.of(target);
    }

    private void copy(S3Client client, BucketSource source, String target) {
        String etag = "\"" + source.etag() + "\"";
        if (source.size() <= singleCopyLimit) {
            client.copyObject(c -> c.sourceBucket(source.bucket()).sourceKey(source.key()).copySourceIfMatch(etag)
                    .destinationBucket(source.bucket()).destinationKey(target));
            return;
        }
        String uploadId = client.createMultipartUpload(c -> c.bucket(source.bucket()).key(target)).uploadId();
        try {
            List<CompletedPart> parts = new ArrayList<>();
            long partSize = Math.max(COPY_PART_SIZE, (source.size() + 9_999) / 10_000);
            int number = 1;
            for (long offset = 0; offset < source.size(); offset += partSize, number++) {
                String range = "bytes=" + offset + "-" + (Math.min(offset + partSize, source.size()) - 1);
                int n = number;
                String partEtag = client.uploadPartCopy(u -> u.sourceBucket(source.bucket()).sourceKey(source.key())
                        .copySourceIfMatch(etag).copySourceRange(range).destinationBucket(source.bucket())
                        .destinationKey(target).uploadId(uploadId).partNumber(n)).copyPartResult().eTag();
                parts.add(CompletedPart.builder().partNumber(n).eTag(partEtag).build());
            }
            client.completeMultipartUpload(c -> c.bucket(source.bucket()).key(target).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
        } catch (SdkException e) {
            client.abortMultipartUpload(a -> a.bucket(source.bucket()).key(target).uploadId(uploadId));
            throw e;
        }
    }

    /** False when the key now holds another upload (new ETag) or nothing: that is not ours to move. */
    private boolean stillTheTakenVersion(BucketSource source) {
        Optional<HeadObjectResponse> head = head(source.bucket(), source.key());
        if (head.isEmpty()) {
            LOG.warnf("s3://%s/%s is no longer there; nothing to move", source.bucket(), source.key());
            return false;
        }
        String etag = head.get().eTag() == null ? "" : head.get().eTag().replace("\"", "");
        if (!etag.equals(source.etag())) {
            LOG.infof("s3://%s/%s was replaced by a newer upload since it was taken; left for its own job",
                    source.bucket(), source.key());
            return false;
        }
        return true;
    }

    private boolean exists(String bucket, String key) {
        return head(bucket, key).isPresent();
    }

    private Optional<HeadObjectResponse> head(String bucket, String key) {
        try {
            return Optional.of(s3.get().headObject(h -> h.bucket(bucket).key(key)));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private void deleteQuietly(String bucket, String key) {
        try {
            s3.get().deleteObject(d -> d.bucket(bucket).key(key));
        } catch (SdkException ignored) {
            // a leftover sidecar is harmless: intake never takes .job.json keys as sources
        }
    }

    /**
     * Once the provider has the bytes (the job is submitted), the hub's copy of a bucket object is
     * no longer needed: nothing after submit reads it, the object itself stays in the bucket, and
     * keeping a copy of every large source until its job ends costs disk and page cache while the
     * outputs come in. Folder sources are not copies and stay where they are until the job ends.
     */
    public void releaseLocalCopy(Job job) {
        if (sourceOf(job).isPresent() && Files.exists(Path.of(job.sourceLocation()))) {
            deleteLocalCopy(job);
            ledger.event(job.id(), io.dubhub.job.Stage.SUBMIT, "removed the hub's copy of the bucket object: " + job.provider() + " has it");
        }
    }

    /** The copy under data/.work/s3/ was only there for the provider upload. */
    private static void deleteLocalCopy(Job job) {
        Path file = Path.of(job.sourceLocation());
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + Intake.SIDECAR_SUFFIX));
        } catch (IOException e) {
            LOG.debugf("Job %s: could not delete local copy %s: %s", job.id(), file, e.getMessage());
        }
    }
}
