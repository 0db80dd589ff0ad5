package io.dubhub.s3;

import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Puts one local file into S3 with constant memory: files smaller than a part in one PUT, larger
 * ones by multipart upload whose parts are read straight from the file, never held as a byte[].
 * A few parts go up at once. A failed multipart upload is aborted so no invisible parts are left
 * to be billed for.
 *
 * <p>Parts are 64 MiB by default ({@code HUB_S3_PART_SIZE}): completing a multipart upload costs
 * some stores work per part, so fewer, larger parts finish sooner, and 64 MiB is still a cheap
 * retry. Measured on S3Proxy here, 1 GiB: 16 MiB parts × 4 reached 0.6 of curl's single PUT, 64 MiB
 * × 2–4 reached 0.9–1.0. S3Proxy's stores also write the whole object again before answering the
 * complete request (4 GiB: parts 13.0 s, complete 16.1 s), which is why {@link Uploaded} reports
 * that time apart (README, Benchmarks).
 */
public final class S3FileUpload {

    /** S3's smallest part (except the last). */
    public static final long MIN_PART_SIZE = 5L * 1024 * 1024;
    static final int MAX_PARTS = 10_000;

    /** Part size and how many parts go up at once. */
    public record Layout(long partSize, int parallelParts) {
        public static final Layout DEFAULT = new Layout(64L * 1024 * 1024, 4);

        public Layout {
            if (partSize < MIN_PART_SIZE || partSize > 5L * 1024 * 1024 * 1024) {
                throw new IllegalArgumentException("an S3 part is 5 MiB .. 5 GiB, not " + partSize + " bytes");
            }
            if (parallelParts < 1) {
                throw new IllegalArgumentException("at least one part at a time, not " + parallelParts);
            }
        }
    }

    private S3FileUpload() {
    }

    /**
     * How one part travels. The SDK's own uploadPart hashes every payload for its SigV4 signature
     * over plain http (reading each part twice, and the store hashes it again); a presigned part
     * URL PUT with an exact Content-Length moves the bytes once, as curl does.
     */
    @FunctionalInterface
    public interface PartTransport {
        /** PUTs {@code length} bytes of {@code file} from {@code offset} as part {@code number}; its ETag. */
        String put(String bucket, String key, String uploadId, int number, Path file, long offset, long length);
    }

    /**
     * What an upload took: its requests, and the seconds the store spent answering the complete
     * request (0 for a single PUT). S3 answers a complete at once; S3Proxy and some gateways write the
     * whole object again first, which is most of a big upload's time there.
     */
    public record Uploaded(int requests, double completeSeconds) {
    }

    /** Uploads {@code file} to {@code bucket/key} with the default layout and the SDK's uploadPart. */
    public static Uploaded upload(S3Client s3, String bucket, String key, Path file, long size, String contentType) {
        return upload(s3, null, Layout.DEFAULT, bucket, key, file, size, contentType);
    }

    /** Same, with parts sent by {@code transport} (null = the SDK's uploadPart). */
    public static Uploaded upload(S3Client s3, PartTransport transport, Layout layout, String bucket, String key, Path file, long size,
                             String contentType) {
        if (size < layout.partSize()) {
            s3.putObject(p -> p.bucket(bucket).key(key).contentType(contentType).contentLength(size), RequestBody.fromFile(file));
            return new Uploaded(1, 0);
        }
        long partSize = partSize(size, layout.partSize());
        int parts = (int) ((size + partSize - 1) / partSize);
        String uploadId = s3.createMultipartUpload(c -> c.bucket(bucket).key(key).contentType(contentType)).uploadId();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(layout.parallelParts(), parts), r -> {
            Thread t = new Thread(r, "s3-part-" + key.hashCode());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<CompletedPart>> pending = new ArrayList<>(parts);
            for (int i = 0; i < parts; i++) {
                int number = i + 1;
                long offset = i * partSize;
                long length = Math.min(partSize, size - offset);
                pending.add(pool.submit(() -> {
                    if (transport != null) {
                        return CompletedPart.builder().partNumber(number)
                                .eTag(transport.put(bucket, key, uploadId, number, file, offset, length)).build();
                    }
                    String etag = s3.uploadPart(u -> u.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                                    .contentLength(length),
                            RequestBody.fromContentProvider(() -> slice(file, offset, length), length, "application/octet-stream"))
                            .eTag();
                    return CompletedPart.builder().partNumber(number).eTag(etag).build();
                }));
            }
            List<CompletedPart> done = new ArrayList<>(parts);
            for (Future<CompletedPart> f : pending) {
                done.add(f.get());
            }
            long completing = System.nanoTime();
            s3.completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(done)));
            return new Uploaded(parts + 2, (System.nanoTime() - completing) / 1e9);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort(s3, bucket, key, uploadId);
            throw new IllegalStateException("upload of " + key + " interrupted", e);
        } catch (ExecutionException e) {
            abort(s3, bucket, key, uploadId);
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("upload of " + key + " failed: " + cause, cause);
        } catch (RuntimeException e) {
            abort(s3, bucket, key, uploadId);
            throw e;
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code preferred}, or more when needed to stay within S3's 10,000 parts (5 TiB objects fit), in whole MiB. */
    static long partSize(long size, long preferred) {
        long needed = (size + MAX_PARTS - 1) / MAX_PARTS;
        long mib = 1024 * 1024;
        return Math.max(preferred, (needed + mib - 1) / mib * mib);
    }

    private static void abort(S3Client s3, String bucket, String key, String uploadId) {
        try {
            s3.abortMultipartUpload(a -> a.bucket(bucket).key(key).uploadId(uploadId));
        } catch (SdkException ignored) {
            // the bucket's lifecycle rule for incomplete uploads is the last resort
        }
    }

    /** {@code length} bytes of {@code file} from {@code offset}, read through a channel. */
    static InputStream slice(Path file, long offset, long length) {
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
            channel.position(offset);
            return new FilterInputStream(Channels.newInputStream(channel)) {
                long left = length;

                @Override
                public int read() throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int b = super.read();
                    if (b >= 0) {
                        left--;
                    }
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int n = super.read(buf, off, (int) Math.min(len, left));
                    if (n > 0) {
                        left -= n;
                    }
                    return n;
                }

                @Override
                public long skip(long n) throws IOException {
                    long skipped = super.skip(Math.min(n, left));
                    left -= skipped;
                    return skipped;
                }

                @Override
                public int available() throws IOException {
                    return (int) Math.min(super.available(), left);
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
