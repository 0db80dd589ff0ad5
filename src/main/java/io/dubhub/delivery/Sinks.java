package io.dubhub.delivery;

import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.ledger.JobLedger;
import jakarta.enterprise.context.ApplicationScoped;
import io.dubhub.s3.S3Config;
import io.dubhub.s3.S3FileUpload;
import io.dubhub.s3.S3Location;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.nio.file.Path;

/**
 * Where a job's outputs go: outbox/<source stem>/, or outbox/<stem>-<job id>/ when another job
 * already delivered under that name (a changed file dropped again). Chosen once, kept in the ledger.
 */
@ApplicationScoped
public class Sinks {

    @Inject
    HubConfig config;

    @Inject
    JobLedger ledger;

    @Inject
    S3Config s3Config;

    @Inject
    Instance<S3Client> s3;

    @Inject
    Instance<software.amazon.awssdk.services.s3.presigner.S3Presigner> presigner;

    @Inject
    io.dubhub.upload.PresignedPutUploader uploader;

    public Path outbox() {
        return Path.of(config.dataDir(), "outbox");
    }

    public synchronized Path jobFolder(Job job) {
        Job current = ledger.load(job.id());
        String dir = current.outboxDir();
        if (dir == null) {
            String stem = OutputDownloader.safeName(job.sourceStem());
            dir = ledger.outboxDirTaken(stem, job.id()) ? stem + "-" + job.id() : stem;
            ledger.setOutboxDir(job.id(), dir);
        }
        return outbox().resolve(dir);
    }

    /**
     * The job's sink as chosen at intake (the ledger's {@code sink}): the folder outbox, or
     * {@code s3://bucket/prefix/<stem>/} — {@code <stem>-<job id>/} when another job of this ledger
     * delivered there already or a job.json from elsewhere is in the way. Chosen once, kept.
     */
    public JobSink sinkFor(Job job) {
        String sink = ledger.sinkOf(job.id());
        if (!S3Location.isS3(sink)) {
            return new FolderSink(jobFolder(job), workFolder(job));
        }
        return new S3Sink(s3.get(), this::putPart, new S3FileUpload.Layout(s3Config.partSize().asLongValue(), s3Config.parallelParts()),
                s3Folder(job, S3Location.parse(sink)));
    }

    /** One multipart part as a presigned PUT with an exact Content-Length and no Content-Type (see S3FileUpload.PartTransport). */
    private String putPart(String bucket, String key, String uploadId, int number, Path file, long offset, long length) {
        var url = presigner.get().presignUploadPart(p -> p.signatureDuration(java.time.Duration.ofHours(1))
                .uploadPartRequest(u -> u.bucket(bucket).key(key).uploadId(uploadId).partNumber(number))).url();
        return uploader.putRange("s3-sink", java.net.URI.create(url.toString()), file, offset, length, null, java.util.Map.of()).etag();
    }

    private synchronized S3Location s3Folder(Job job, S3Location base) {
        String dir = ledger.load(job.id()).outboxDir();
        if (S3Location.isS3(dir)) {
            return S3Location.parse(dir);
        }
        String stem = OutputDownloader.safeName(job.sourceStem());
        S3Location folder = base.child(stem);
        if (ledger.outboxDirTaken(folder.toString(), job.id()) || manifestExists(folder)) {
            folder = base.child(stem + "-" + job.id());
        }
        ledger.setOutboxDir(job.id(), folder.toString());
        return folder;
    }

    private boolean manifestExists(S3Location folder) {
        try {
            s3.get().headObject(h -> h.bucket(folder.bucket()).key(folder.key("job.json")));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Temp files live outside the outbox so nothing half-written is ever visible there. */
    public Path workFolder(Job job) {
        return Path.of(config.dataDir(), ".work", job.id());
    }
}
