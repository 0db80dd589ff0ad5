package io.dubhub.http;

import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The SHA-256 of a stream of buffers (and its MD5, when the server announced one to check),
 * computed on a second thread while the caller reads the next buffer from the network and writes
 * the last one to disk. SHA-256 costs about as much CPU per
 * byte here as the copy itself (1.7 GiB/s on one core of these machines), so doing both on one
 * thread halves a download's speed; in parallel the slower of the two sets it. The buffers come
 * from a small fixed ring, so memory stays at {@code buffers × size} per transfer whatever its size.
 *
 * <pre>
 * byte[] b = d.buffer(); int n = read(b); write(b, n); d.hash(b, n); ... Digests done = d.finish();
 * </pre>
 */
final class BackgroundDigests implements AutoCloseable {

    /** The hex SHA-256, and the raw MD5 when one was asked for (else null). */
    record Digests(String sha256, byte[] md5) {
    }

    private static final ExecutorService HASHERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "dubhub-digest");
        t.setDaemon(true);
        return t;
    });

    private record Chunk(byte[] data, int length) {
    }

    private static final Chunk END = new Chunk(null, -1);

    private final BlockingQueue<byte[]> free;
    private final BlockingQueue<Chunk> full;
    private final Future<Digests> digest;

    BackgroundDigests(int buffers, int size, boolean md5) {
        free = new ArrayBlockingQueue<>(buffers);
        full = new ArrayBlockingQueue<>(buffers + 1);
        for (int i = 0; i < buffers; i++) {
            free.add(new byte[size]);
        }
        digest = HASHERS.submit(() -> {
            MessageDigest sha256 = BulkHttp.digest("SHA-256");
            MessageDigest md = md5 ? BulkHttp.digest("MD5") : null;
            while (true) {
                Chunk chunk = full.take();
                if (chunk == END) {
                    return new Digests(HexFormat.of().formatHex(sha256.digest()), md == null ? null : md.digest());
                }
                sha256.update(chunk.data(), 0, chunk.length());
                if (md != null) {
                    md.update(chunk.data(), 0, chunk.length());
                }
                free.put(chunk.data());
            }
        });
    }

    /** A buffer to fill; waits while the hasher is behind by the whole ring. */
    byte[] buffer() throws InterruptedIOException {
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the digest thread");
        }
    }

    /** {@code length} bytes of {@code buffer} are final: hash them, then hand the buffer back. */
    void hash(byte[] buffer, int length) throws InterruptedIOException {
        try {
            full.put(new Chunk(buffer, length));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing a buffer to the digest thread");
        }
    }

    /** The digests of everything hashed. */
    Digests finish() throws InterruptedIOException {
        try {
            full.put(END);
            return digest.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while finishing the digests");
        } catch (ExecutionException e) {
            throw new IllegalStateException("the digest thread failed", e.getCause());
        }
    }

    /** Stops the hasher if the transfer ended without {@link #finish()}. */
    @Override
    public void close() {
        digest.cancel(true);
    }
}
