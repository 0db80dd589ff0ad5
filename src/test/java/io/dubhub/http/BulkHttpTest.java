package io.dubhub.http;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bulk client's contract, against real local servers: what goes on the wire, and how a broken transfer ends. */
class BulkHttpTest {

    @TempDir
    Path dir;

    HttpServer server;
    String base;
    final Map<String, List<String>> seenHeaders = new ConcurrentHashMap<>();
    final List<byte[]> bodies = new CopyOnWriteArrayList<>();
    final BulkHttp bulk = new BulkHttp(Duration.ofSeconds(5), Duration.ofSeconds(1));

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/put", ex -> {
            ex.getRequestHeaders().forEach((k, v) -> seenHeaders.put(k.toLowerCase(), v));
            bodies.add(ex.getRequestBody().readAllBytes());
            ex.getResponseHeaders().add("ETag", "\"abc\"");
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.createContext("/missing", ex -> {
            byte[] body = "<Error><Code>NoSuchKey</Code></Error>".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(404, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    Path randomFile(int bytes) throws IOException {
        byte[] data = new byte[bytes];
        new Random(bytes).nextBytes(data);
        return Files.write(dir.resolve("f" + bytes + ".bin"), data);
    }

    @Test
    void aRangePutCarriesItsExactLengthAndNoContentTypeUnlessGiven() throws Exception {
        Path file = randomFile(3 * 1024 * 1024);

        BulkHttp.Answer answer = bulk.put(URI.create(base + "/put"), file, 1024 * 1024, 1536 * 1024, Map.of("x-amz-meta-job", "j-1"));

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.header("etag")).isEqualTo("\"abc\"");
        assertThat(seenHeaders.get("content-length")).containsExactly(Integer.toString(1536 * 1024));
        assertThat(seenHeaders).doesNotContainKeys("content-type", "transfer-encoding");
        assertThat(seenHeaders.get("expect")).as("1 MiB and more asks first").containsExactly("100-continue");
        assertThat(seenHeaders.get("x-amz-meta-job")).containsExactly("j-1");
        byte[] all = Files.readAllBytes(file);
        assertThat(bodies.get(0)).isEqualTo(Arrays.copyOfRange(all, 1024 * 1024, 1024 * 1024 + 1536 * 1024));
    }

    @Test
    void aRefusalAnsweredBeforeTheBodyIsAnAnswerNotABrokenPipe() throws Exception {
        // What S3 and Azure do with a bad signature: the final status instead of "100 Continue", then close.
        byte[] refusal = "<Error><Code>SignatureDoesNotMatch</Code></Error>".getBytes(StandardCharsets.UTF_8);
        try (RawServer raw = new RawServer(out -> {
            out.write(("HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: "
                    + refusal.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(refusal);
            out.flush();
        })) {
            Path file = randomFile(8 * 1024 * 1024); // more than the socket buffers would take

            BulkHttp.Answer answer = bulk.put(raw.uri(), file, 0, Files.size(file), Map.of());

            assertThat(answer.status()).isEqualTo(403);
            assertThat(answer.body()).contains("SignatureDoesNotMatch");
            assertThat(raw.requestHead()).contains("Expect: 100-continue");
        }
    }

    @Test
    void aGivenContentTypeIsSentOnceAndExactly() throws Exception {
        Path file = randomFile(1000);

        bulk.put(URI.create(base + "/put"), file, 0, 1000, Map.of("Content-Type", "video/mp4"));

        assertThat(seenHeaders.get("content-type")).containsExactly("video/mp4");
        assertThat(seenHeaders).as("a small body goes at once").doesNotContainKey("expect");
        assertThat(bodies.get(0)).isEqualTo(Files.readAllBytes(file));
    }

    @Test
    void aGetHashesExactlyTheBytesItWrites() throws Exception {
        Path source = randomFile(5 * 1024 * 1024 + 17);
        server.createContext("/file", ex -> {
            ex.sendResponseHeaders(200, Files.size(source));
            try (OutputStream out = ex.getResponseBody()) {
                Files.copy(source, out);
            }
        });
        Path target = dir.resolve("out.bin");

        BulkHttp.Fetched fetched = bulk.get(URI.create(base + "/file"), Map.of(), target);

        assertThat(fetched.ok()).isTrue();
        assertThat(fetched.bytes()).isEqualTo(Files.size(source));
        assertThat(Files.readAllBytes(target)).isEqualTo(Files.readAllBytes(source));
        assertThat(fetched.sha256()).isEqualTo(java.util.HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(source))));
    }

    @Test
    void anErrorAnswerKeepsItsBodyAndWritesNoFile() throws Exception {
        Path target = dir.resolve("never.bin");

        BulkHttp.Fetched fetched = bulk.get(URI.create(base + "/missing"), Map.of(), target);

        assertThat(fetched.status()).isEqualTo(404);
        assertThat(fetched.answer().body()).contains("NoSuchKey");
        assertThat(target).doesNotExist();
    }

    @Test
    void aBodyCutOffBeforeItsContentLengthIsAnErrorAndLeavesNoFile() throws Exception {
        try (RawServer raw = new RawServer(out -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[400_000]);
            out.flush(); // and the connection closes
        })) {
            Path target = dir.resolve("cut.bin");

            assertThatThrownBy(() -> bulk.get(raw.uri(), Map.of(), target)).isInstanceOf(IOException.class);
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void aBodyThatStallsBreaksOffAfterTheIdleTimeout() throws Exception {
        try (RawServer raw = new RawServer(out -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[100_000]);
            out.flush();
            sleep(Duration.ofSeconds(20)); // a provider that stops sending without closing
        })) {
            Path target = dir.resolve("stalled.bin");

            // a timeout, not the end of the body when the server finally gives up 20 s later
            assertThatThrownBy(() -> bulk.get(raw.uri(), Map.of(), target)).isInstanceOf(SocketTimeoutException.class);
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void anUploadTheServerStopsReadingIsAbortedAfterTheIdleTimeout() throws Exception {
        try (RawServer raw = new RawServer(out -> {
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            sleep(Duration.ofSeconds(20)); // and never reads the body: our writes block once the socket buffers are full
        })) {
            Path file = randomFile(32 * 1024 * 1024);

            // without the watchdog the write would block until the server gives up, 20 s later
            assertThatThrownBy(() -> bulk.put(raw.uri(), file, 0, Files.size(file), Map.of()))
                    .isInstanceOf(SocketTimeoutException.class)
                    .hasMessageContaining("took no byte of the body for 1 s");
        }
    }

    @Test
    void aRedirectToAnotherOriginDoesNotCarryTheCallersKey() throws Exception {
        List<String> cdnAuthorization = new ArrayList<>();
        HttpServer cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn.createContext("/clip.mp4", ex -> {
            cdnAuthorization.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            byte[] body = "clip".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        cdn.start();
        List<String> apiAuthorization = new ArrayList<>();
        server.createContext("/download", ex -> {
            apiAuthorization.add(ex.getRequestHeaders().getFirst("Authorization"));
            // localhost vs 127.0.0.1: another origin, same machine
            ex.getResponseHeaders().add("Location", "http://localhost:" + cdn.getAddress().getPort() + "/clip.mp4");
            ex.sendResponseHeaders(302, -1);
            ex.close();
        });
        try {
            BulkHttp.Fetched fetched = bulk.get(URI.create(base + "/download"), Map.of("Authorization", "Bearer vug_sk_secret"),
                    dir.resolve("clip.mp4"));

            assertThat(fetched.ok()).isTrue();
            assertThat(Files.readString(dir.resolve("clip.mp4"))).isEqualTo("clip");
            assertThat(apiAuthorization).containsExactly("Bearer vug_sk_secret");
            assertThat(cdnAuthorization).containsExactly("null");
        } finally {
            cdn.stop(0);
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One-connection server that answers with whatever bytes it is told, however broken. */
    static final class RawServer implements AutoCloseable {
        interface Script {
            void answer(OutputStream out) throws IOException;
        }

        private final ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private final Thread thread;
        private final StringBuilder head = new StringBuilder();

        RawServer(Script script) throws IOException {
            thread = new Thread(() -> {
                try (Socket s = socket.accept()) {
                    InputStream in = s.getInputStream();
                    // read the request head
                    int state = 0;
                    while (state < 4) {
                        int b = in.read();
                        if (b < 0) {
                            return;
                        }
                        synchronized (head) {
                            head.append((char) b);
                        }
                        state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
                    }
                    script.answer(s.getOutputStream());
                } catch (IOException ignored) {
                    // the client went away
                }
            }, "raw-server");
            thread.setDaemon(true);
            thread.start();
        }

        String requestHead() {
            synchronized (head) {
                return head.toString();
            }
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/x");
        }

        @Override
        public void close() throws IOException {
            socket.close();
            thread.interrupt();
        }
    }
}
