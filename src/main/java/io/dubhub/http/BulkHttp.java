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
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
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
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

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
    /** From this size a PUT first asks whether the server will take it. */
    static final long EXPECT_CONTINUE_FROM = 1024 * 1024;
    /** What of an error body is kept for the operator's message. */
    static final int ERROR_BODY_BYTES = 64 * 1024;
    static final int MAX_REDIRECTS = 5;
    /** Buffers a download may have in flight between the network, the disk and the SHA-256 thread. */
    static final int HASH_RING = 4;

    private final CloseableHttpClient client;
    private final Duration idleTimeout;

    @Inject
    public BulkHttp(HubConfig config) {
        this(config.http().connectTimeout(), config.http().idleTimeout());
    }

    /** For tests and tools that run without the application. */
    public BulkHttp(Duration connectTimeout, Duration idleTimeout) {
        this.idleTimeout = idleTimeout;
        PoolingHttpClientConnectionManager connections = PoolingHttpClientConnectionManagerBuilder.create()
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
                .setDefaultRequestConfig(RequestConfig.custom()
                        .setResponseTimeout(Timeout.of(idleTimeout))
                        .setRedirectsEnabled(false)
                        .build())
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
        String contentType = null;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (h.getKey().equalsIgnoreCase("Content-Type")) {
                contentType = h.getValue(); // goes with the entity, or it would be sent twice
            } else {
                put.addHeader(h.getKey(), h.getValue());
            }
        }
        put.setEntity(new FileRangeEntity(file, offset, length, contentType));
        if (length >= EXPECT_CONTINUE_FROM) {
            put.setConfig(RequestConfig.copy(defaultConfig()).setExpectContinueEnabled(true).build());
        }
        return client.execute(put, response -> answer(response, true));
    }

    /** PUTs a small body held in memory (a block list, a manifest). */
    public Answer put(URI url, byte[] body, Map<String, String> headers) throws IOException {
        HttpPut put = new HttpPut(url);
        String contentType = null;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (h.getKey().equalsIgnoreCase("Content-Type")) {
                contentType = h.getValue();
            } else {
                put.addHeader(h.getKey(), h.getValue());
            }
        }
        put.setEntity(new org.apache.hc.core5.http.io.entity.ByteArrayEntity(body,
                contentType == null ? null : org.apache.hc.core5.http.ContentType.parseLenient(contentType)));
        return client.execute(put, response -> answer(response, true));
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
        long bytes = 0;
        String sha256;
        Files.deleteIfExists(target);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             BackgroundSha256 digest = new BackgroundSha256(HASH_RING, BUFFER_BYTES)) {
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
            sha256 = digest.finish();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(target);
            throw e;
        }
        if (declared >= 0 && bytes != declared) {
            Files.deleteIfExists(target);
            throw new IOException("the body ended after " + bytes + " of " + declared + " bytes");
        }
        return new Fetched(answer(response, false), bytes, sha256, declared);
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

    private RequestConfig defaultConfig() {
        return RequestConfig.custom().setResponseTimeout(Timeout.of(idleTimeout)).setRedirectsEnabled(false).build();
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

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
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

        @Override
        public void writeTo(OutputStream out) throws IOException {
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
                }
            }
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
