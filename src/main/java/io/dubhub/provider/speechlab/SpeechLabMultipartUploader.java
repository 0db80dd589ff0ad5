package io.dubhub.provider.speechlab;

import io.dubhub.provider.ProviderException;
import io.dubhub.upload.PresignedPutUploader;
import io.dubhub.upload.UploadResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The part PUTs of an S3 multipart upload through presigned (SigV2) URLs: each part streamed from
 * its byte range with an exact Content-Length and NO Content-Type (the URLs are signed for none),
 * its ETag kept for the finalize call. A part that fails transiently is retried alone, a bounded
 * number of times; a refused signature is not retried (it cannot get better).
 *
 * <p>Part size: max(5 MiB, ceil(size / 10 000)) — S3's minimum for every part but the last, and
 * never more than S3's 10 000 parts.
 */
@ApplicationScoped
public class SpeechLabMultipartUploader {

    private static final Logger LOG = Logger.getLogger(SpeechLabMultipartUploader.class);

    public static final long MIN_PART_BYTES = 5L * 1024 * 1024;
    public static final int MAX_PARTS = 10_000;
    public static final int ATTEMPTS_PER_PART = 4;

    @Inject
    PresignedPutUploader uploader;

    /** Pause before the n-th retry of a part (n ≥ 1); tests may shorten it. */
    Duration retryPause = Duration.ofMillis(500);

    public record Part(int partNumber, String etag, long bytes) {
    }

    public static long partSize(long fileSize) {
        return Math.max(MIN_PART_BYTES, (fileSize + MAX_PARTS - 1) / MAX_PARTS);
    }

    public static int partCount(long fileSize, long partSize) {
        return (int) Math.max(1, (fileSize + partSize - 1) / partSize);
    }

    /**
     * Uploads the parts of {@code file} not already in {@code done}.
     *
     * @param urls   presigned PUT URL of part n (1-based)
     * @param done   parts uploaded before (after a restart), kept as they are
     * @param onPart told of each newly uploaded part, before the next starts (to record it durably)
     * @return every part, in part-number order
     */
    public List<Part> upload(String provider, Path file, long fileSize, long partSize, IntFunction<URI> urls,
                             List<Part> done, Consumer<Part> onPart) {
        int count = partCount(fileSize, partSize);
        List<Part> parts = new ArrayList<>(count);
        for (int n = 1; n <= count; n++) {
            int number = n;
            Part previous = done.stream().filter(p -> p.partNumber() == number).findFirst().orElse(null);
            if (previous != null) {
                parts.add(previous);
                continue;
            }
            long offset = (n - 1) * partSize;
            long length = Math.min(partSize, fileSize - offset);
            Part part = uploadPart(provider, file, n, offset, length, urls.apply(n));
            onPart.accept(part);
            parts.add(part);
        }
        return parts;
    }

    private Part uploadPart(String provider, Path file, int number, long offset, long length, URI url) {
        for (int attempt = 1; ; attempt++) {
            try {
                UploadResult result = uploader.putRange(provider, url, file, offset, length, null, Map.of());
                if (result.etag() == null || result.etag().isBlank()) {
                    throw new ProviderException(provider, ProviderException.Kind.TRANSIENT, io.dubhub.job.Stage.UPLOAD, result.status(),
                            "the storage answered part " + number + " without an ETag", null);
                }
                return new Part(number, result.etag(), result.bytes());
            } catch (ProviderException e) {
                if (!e.retryable() || attempt >= ATTEMPTS_PER_PART) {
                    throw e;
                }
                LOG.infof("%s: part %d (%d bytes) failed (%s); retrying it alone, attempt %d of %d",
                        provider, number, length, e.getMessage(), attempt + 1, ATTEMPTS_PER_PART);
                sleep(retryPause.multipliedBy(attempt));
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to retry a part", e);
        }
    }
}
