package io.dubhub.http;

import io.dubhub.config.HubConfig;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPut;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.ManagedHttpClientConnectionFactory;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.config.Http1Config;
import org.apache.hc.core5.http.io.SocketConfig;
import org.apache.hc.core5.http.io.entity.AbstractHttpEntity;
import org.apache.hc.core5.util.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moves big bodies between local files and HTTP endpoints with constant memory: a PUT of a file
 * (or one byte range of it, for multipart parts and blocks) and a GET into a file with the body's
 * SHA-256 computed on the way. Provider API calls stay on the JDK client ({@code ProviderHttp});
 * this is for the bytes. Measured here on loopback (README, Benchmarks): the JDK client moves a
 * body in 16 KiB pieces through its reactive-streams plumbing and reached 0.35–0.45 of curl's GET;
 * blocking streams with 256 KiB reads reach curl.
 *
 * <ul>
 *   <li>A PUT carries exactly the headers given plus an exact Content-Length: no Content-Type
 *       unless the caller sets one (S3 signs it: an absent type must stay absent), never chunked.
 *   <li>PUTs of 1 MiB and more send {@code Expect: 100-continue}: S3 and Azure answer a refused
 *       signature or an expired link before the body is sent, so a refused 4 GiB upload costs one
 *       round trip instead of 4 GiB and a connection reset that hides the refusal.
 *   <li>Time limits are idle limits ({@code HUB_HTTP_IDLE_TIMEOUT}): a transfer may take as long
 *       as it takes while bytes flow, and breaks off when none has moved for that long.
 *   <li>GETs follow redirects (at most 5) themselves, so that the caller's headers (a bearer key
 *       for an authenticated download link) never go to another origin, and never https → http.
 *   <li>No automatic retries here: the pipeline decides, with its ledger and backoff.
 * </ul>
 */
@ApplicationScoped
public class BulkHttp {

    /** One read or write; large enough that syscalls and digest calls are not the cost. */
    static final int BUFFER_BYTES = 256 * 1024;
    /** A request head and a body up to this size go out in one write. */
    static final int SMALL_BODY_BYTES = 64 * 1024;
    /** From this size a PUT first asks whether the server will take it. */
    static final long EXPECT_CONTINUE_FROM = 1024 * 1024;
    /** What of an error body is kept for the operator's message. */
    static final int ERROR_BODY_BYTES = 64 * 1024;
    static final int MAX_REDIRECTS = 5;
    /** How often the upload watchdog looks at the bytes sent. */
    static final Duration WATCHDOG_TICK = Duration.ofMillis(500);
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "dubhub-upload-watchdog");
                t.setDaemon(true);
                return t;
            });
    /** Buffers a download may have in flight between the network, the disk and the SHA-256 thread. */
    static final int HASH_RING = 4;

    private final CloseableHttpClient client;
    private final Duration idleTimeout;
    private final RequestConfig defaults;

    @Inject
    public BulkHttp(HubConfig config) {
        this(config.http().connectTimeout(), config.http().idleTimeout());
    }

    /** For tests and tools that run without the application. */
    public BulkHttp(Duration connectTimeout, Duration idleTimeout) {
        this.idleTimeout = idleTimeout;
        this.defaults = RequestConfig.custom().setResponseTimeout(Timeout.of(idleTimeout)).setRedirectsEnabled(false).build();
        PoolingHttpClientConnectionManager connections = PoolingHttpClientConnectionManagerBuilder.create()
                .setConnectionFactory(ManagedHttpClientConnectionFactory.builder()
                        // A small body leaves in one write with the request head: a server that refuses on the
                        // head and closes at once (S3Proxy does) cannot reset the connection between the two.
                        .http1Config(Http1Config.custom().setBufferSize(SMALL_BODY_BYTES).build())
                        .build())
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setConnectTimeout(Timeout.of(connectTimeout))
                        .setSocketTimeout(Timeout.of(idleTimeout))
                        .build())
                .setDefaultSocketConfig(SocketConfig.custom().setSoTimeout(Timeout.of(idleTimeout)).build())
                // 4 parallel parts per upload, several jobs at once, all to one storage host
                .setMaxConnPerRoute(32)
                .setMaxConnTotal(64)
                .build();
        this.client = HttpClients.custom()
                .setConnectionManager(connections)
                .setDefaultRequestConfig(defaults)
                .disableContentCompression() // the bytes and their SHA-256 are the file's, not a gzip of it
                .disableAutomaticRetries()
                .disableCookieManagement()
                .disableAuthCaching()
                .setUserAgent("dubhub")
                .build();
    }

    @PreDestroy
    void close() {
        try {
            client.close();
        } catch (IOException ignored) {
            // shutting down
        }
    }

    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** A transfer's I/O failure in an operator's words: a timeout says how long nothing moved, and which setting that is. */
    public String explain(IOException e) {
        if (e instanceof java.net.SocketTimeoutException && !(e instanceof BodyNotTaken)) {
            return "no byte moved for " + idleTimeout.toSeconds() + " s (HUB_HTTP_IDLE_TIMEOUT)";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** A server's answer: status, headers (names in any case), and the body when it was not a success (at most 64 KiB). */
    public record Answer(int status, Map<String, String> headers, String body) {
        public boolean ok() {
            return status / 100 == 2;
        }

        public String header(String name) {
            return headers.get(name);
        }
    }

    /** A GET: on success the file holds the body, with its length and SHA-256; otherwise nothing was written. */
    public record Fetched(Answer answer, long bytes, String sha256, long contentLength) {
        public boolean ok() {
            return answer.ok();
        }

        public int status() {
            return answer.status();
        }
    }

    /**
     * PUTs {@code length} bytes of {@code file} from {@code offset} to {@code url} with exactly
     * {@code headers} (a Content-Type only if it is among them).
     */
    public Answer put(URI url, Path file, long offset, long length, Map<String, String> headers) throws IOException {
        HttpPut put = new HttpPut(url);
        FileRangeEntity entity = new FileRangeEntity(file, offset, length, addHeadersButContentType(put, headers));
        put.setEntity(entity);
        if (length >= EXPECT_CONTINUE_FROM) {
            put.setConfig(RequestConfig.copy(defaults).setExpectContinueEnabled(true).build());
        }
        // A socket timeout covers reads only: a server that stops reading our body would block the
        // write for ever. The watchdog aborts a PUT whose body has not moved for the idle timeout.
        java.util.concurrent.atomic.AtomicBoolean stalled = new java.util.concurrent.atomic.AtomicBoolean();
        var watchdog = WATCHDOG.scheduleWithFixedDelay(new Runnable() {
            long lastSent = -1;
            long lastMove = System.nanoTime();

            @Override
            public void run() {
                long sent = entity.sent();
                if (sent != lastSent) {
                    lastSent = sent;
                    lastMove = System.nanoTime();
                } else if (!entity.done() && System.nanoTime() - lastMove > idleTimeout.toNanos()) {
                    stalled.set(true);
                    put.cancel();
                }
            }
        }, WATCHDOG_TICK.toMillis(), WATCHDOG_TICK.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        try {
            return client.execute(put, response -> answer(response, true));
        } catch (IOException e) {
            if (stalled.get()) {
                throw new BodyNotTaken("the server took no byte of the body for " + idleTimeout.toSeconds()
                        + " s after " + entity.sent() + " of " + length);
            }
            throw e;
        } finally {
            watchdog.cancel(false);
        }
    }

    /** PUTs a small body held in memory (a block list, a manifest). */
    public Answer put(URI url, byte[] body, Map<String, String> headers) throws IOException {
        HttpPut put = new HttpPut(url);
        String contentType = addHeadersButContentType(put, headers);
        put.setEntity(new org.apache.hc.core5.http.io.entity.ByteArrayEntity(body,
                contentType == null ? null : org.apache.hc.core5.http.ContentType.parseLenient(contentType)));
        return client.execute(put, response -> answer(response, true));
    }

    /** Sets every header but Content-Type, which goes with the entity (or it would be sent twice); returns it (null = none). */
    private static String addHeadersButContentType(HttpPut put, Map<String, String> headers) {
        String contentType = null;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (h.getKey().equalsIgnoreCase("Content-Type")) {
                contentType = h.getValue();
            } else {
                put.addHeader(h.getKey(), h.getValue());
            }
        }
        return contentType;
    }

    /**
     * GETs {@code url} into {@code target} (replaced), hashing the bytes as they are written. A
     * body shorter than its Content-Length is an {@link IOException}, and the file is removed.
     */
    public Fetched get(URI url, Map<String, String> headers, Path target) throws IOException {
        URI current = url;
        Map<String, String> sent = headers;
        for (int hop = 0; ; hop++) {
            HttpGet get = new HttpGet(current);
            sent.forEach(get::addHeader);
            URI from = current;
            Object outcome = client.execute(get, response -> {
                int status = response.getCode();
                if (isRedirect(status) && response.getFirstHeader("Location") != null) {
                    return from.resolve(response.getFirstHeader("Location").getValue().trim());
                }
                if (status / 100 != 2) {
                    return new Fetched(answer(response, false), 0, null, -1);
                }
                return receive(response, target);
            });
            if (outcome instanceof Fetched fetched) {
                return fetched;
            }
            URI next = (URI) outcome;
            if (hop >= MAX_REDIRECTS) {
                throw new IOException("more than " + MAX_REDIRECTS + " redirects, last to " + UrlRedactor.redact(next));
            }
            if ("https".equalsIgnoreCase(current.getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
                throw new IOException("refused a redirect from https to " + UrlRedactor.redact(next));
            }
            if (!sameOrigin(current, next)) {
                sent = Map.of(); // a key for the provider's host is not for a CDN's
            }
            current = next;
        }
    }

    private Fetched receive(ClassicHttpResponse response, Path target) throws IOException {
        HttpEntity entity = response.getEntity();
        long declared = entity == null ? 0 : entity.getContentLength();
        Announced announced = Announced.of(response);
        long bytes = 0;
        BackgroundDigests.Digests digests;
        Files.deleteIfExists(target);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             BackgroundDigests digest = new BackgroundDigests(HASH_RING, BUFFER_BYTES, announced.md5() != null)) {
            if (entity != null) {
                try (InputStream in = entity.getContent()) {
                    while (true) {
                        byte[] buffer = digest.buffer();
                        int n = in.readNBytes(buffer, 0, buffer.length);
                        if (n <= 0) {
                            break;
                        }
                        ByteBuffer wrapped = ByteBuffer.wrap(buffer, 0, n);
                        while (wrapped.hasRemaining()) {
                            out.write(wrapped);
                        }
                        digest.hash(buffer, n);
                        bytes += n;
                    }
                }
            }
            digests = digest.finish();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(target);
            throw e;
        }
        if (declared >= 0 && bytes != declared) {
            Files.deleteIfExists(target);
            throw new IOException("the body ended after " + bytes + " of " + declared + " bytes");
        }
        String mismatch = announced.mismatch(digests);
        if (mismatch != null) {
            Files.deleteIfExists(target);
            throw new ChecksumMismatchException(mismatch);
        }
        return new Fetched(answer(response, false), bytes, digests.sha256(), declared);
    }

    /** The upload watchdog gave up: the server stopped reading the body (it says how far it got). */
    public static final class BodyNotTaken extends java.net.SocketTimeoutException {
        BodyNotTaken(String message) {
            super(message);
        }
    }

    /** The bytes arrived whole but are not the ones the server vouched for. */
    public static final class ChecksumMismatchException extends IOException {
        ChecksumMismatchException(String message) {
            super(message);
        }
    }

    /**
     * Checksums a server announced for the body, checked when the bytes are in: Content-MD5 (Azure
     * Blob for blobs stored with one, RFC 1864), x-goog-hash md5 (Google Cloud Storage), and
     * Repr-Digest / Digest sha-256 (RFC 9530 / RFC 3230), which costs nothing extra since the
     * SHA-256 is computed anyway. S3's ETag is not one of them: it is no MD5 for multipart or
     * KMS-encrypted objects, so a "mismatch" there would fail good downloads.
     */
    record Announced(byte[] md5, byte[] sha256, String md5Header, String sha256Header) {
        private static final Pattern GOOG_MD5 = Pattern.compile("(?:^|,)\\s*md5=([A-Za-z0-9+/=]+)");
        private static final Pattern SHA256 = Pattern.compile("(?i)(?:^|,)\\s*sha-256=:?([A-Za-z0-9+/=]+):?");

        static Announced of(ClassicHttpResponse response) {
            byte[] md5 = null;
            String md5Header = null;
            Header contentMd5 = response.getFirstHeader("Content-MD5");
            Header goog = response.getFirstHeader("x-goog-hash");
            if (contentMd5 != null) {
                md5 = base64(contentMd5.getValue().trim(), 16);
                md5Header = "Content-MD5";
            } else if (goog != null) {
                Matcher m = GOOG_MD5.matcher(goog.getValue());
                if (m.find()) {
                    md5 = base64(m.group(1), 16);
                    md5Header = "x-goog-hash";
                }
            }
            byte[] sha = null;
            String shaHeader = null;
            for (String name : new String[]{"Repr-Digest", "Digest"}) {
                Header h = response.getFirstHeader(name);
                if (h != null && sha == null) {
                    Matcher m = SHA256.matcher(h.getValue());
                    if (m.find()) {
                        sha = base64(m.group(1), 32);
                        shaHeader = name;
                    }
                }
            }
            return new Announced(md5, sha, md5Header, shaHeader);
        }

        /** Null when every announced checksum matches; otherwise what differs, in words. */
        String mismatch(BackgroundDigests.Digests got) {
            if (md5 != null && !java.util.Arrays.equals(md5, got.md5())) {
                return "the bytes' MD5 is " + Base64.getEncoder().encodeToString(got.md5()) + " but the server's " + md5Header
                        + " says " + Base64.getEncoder().encodeToString(md5) + ": corrupted on the way";
            }
            if (sha256 != null && !java.util.Arrays.equals(sha256, HexFormat.of().parseHex(got.sha256()))) {
                return "the bytes' SHA-256 is " + got.sha256() + " but the server's " + sha256Header + " says "
                        + HexFormat.of().formatHex(sha256) + ": corrupted on the way";
            }
            return null;
        }

        /** A checksum of the right length, or null (an unreadable header is ignored, not a mismatch). */
        private static byte[] base64(String value, int length) {
            try {
                byte[] b = Base64.getDecoder().decode(value);
                return b.length == length ? b : null;
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
    }

    private static Answer answer(ClassicHttpResponse response, boolean readBody) throws IOException {
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Header h : response.getHeaders()) {
            headers.putIfAbsent(h.getName(), h.getValue());
        }
        String body = null;
        HttpEntity entity = response.getEntity();
        boolean error = response.getCode() / 100 != 2;
        if (entity != null && (error || readBody)) {
            try (InputStream in = entity.getContent()) {
                body = new String(in.readNBytes(ERROR_BODY_BYTES), StandardCharsets.UTF_8);
            }
        }
        return new Answer(response.getCode(), java.util.Collections.unmodifiableMap(headers), body);
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(lower(a.getScheme()), lower(b.getScheme())) && Objects.equals(lower(a.getHost()), lower(b.getHost()))
                && port(a) == port(b);
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }

    private static int port(URI u) {
        return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code length} bytes of a file from {@code offset}, read in large pieces; repeatable, so a redirect or a retry can resend it. */
    static final class FileRangeEntity extends AbstractHttpEntity {
        private final Path file;
        private final long offset;
        private final long length;

        FileRangeEntity(Path file, long offset, long length, String contentType) {
            super(contentType, null, false);
            this.file = file;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public boolean isRepeatable() {
            return true;
        }

        @Override
        public long getContentLength() {
            return length;
        }

        @Override
        public InputStream getContent() throws IOException {
            throw new UnsupportedOperationException("written with writeTo");
        }

        /** Bytes handed to the connection so far (for the watchdog), and whether the body is complete. */
        private volatile long sent;
        private volatile boolean done;

        long sent() {
            return sent;
        }

        boolean done() {
            return done;
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            sent = 0;
            done = false;
            try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
                byte[] buffer = new byte[BUFFER_BYTES];
                ByteBuffer wrapped = ByteBuffer.wrap(buffer);
                long position = offset;
                long left = length;
                while (left > 0) {
                    wrapped.clear().limit((int) Math.min(buffer.length, left));
                    int n = in.read(wrapped, position);
                    if (n < 0) {
                        throw new IOException(file.getFileName() + " ended " + left + " bytes early (it shrank while being sent)");
                    }
                    out.write(buffer, 0, n);
                    position += n;
                    left -= n;
                    sent += n;
                }
            }
            done = true;
        }

        @Override
        public boolean isStreaming() {
            return false;
        }

        @Override
        public void close() {
            // nothing held open between writes
        }
    }
}
