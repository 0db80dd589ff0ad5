package io.dubhub.sandbox;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@QuarkusTest
@TestProfile(SandboxSimulatorTestProfile.class)
class SandboxStorageTest {

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Inject
    SandboxStorage storage;

    @Test
    void putWithTheSignedContentTypeIsStoredAndAnswersTheMd5AsEtag() throws Exception {
        String key = newKey("clip.mp4");
        byte[] body = randomBytes(70_000);
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));

        HttpResponse<String> response = put(url, body, "video/mp4");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("ETag")).hasValue("\"" + md5(body) + "\"");
        assertThat(storage.exists(key)).isTrue();
        assertThat(Files.readAllBytes(storage.pathOf(key))).isEqualTo(body);
        assertThat(storage.putCount(key)).isEqualTo(1);
        assertThat(storage.keyOf(url)).isEqualTo(key);
    }

    @Test
    void putWithAnotherContentTypeIsRefusedAsSignatureMismatch() throws Exception {
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));

        HttpResponse<String> response = put(url, randomBytes(100), "application/octet-stream");

        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("<Code>SignatureDoesNotMatch</Code>")
                .contains("Content-Type 'video/mp4'").contains("Content-Type 'application/octet-stream'");
        assertThat(storage.exists(key)).isFalse();
        assertThat(storage.putCount(key)).isZero();
        assertThat(storage.putAttempts(key)).isEqualTo(1);
    }

    @Test
    void putWithoutContentTypeWhenOneWasSignedIsRefused() throws Exception {
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));

        HttpResponse<String> response = put(url, randomBytes(100), null);

        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("<Code>SignatureDoesNotMatch</Code>").contains("no Content-Type header");
        assertThat(storage.exists(key)).isFalse();
    }

    @Test
    void urlSignedForNoContentTypeRefusesOneAndAcceptsNone() throws Exception {
        String key = newKey("part-1");
        URI url = storage.presignPut(key, null, Duration.ofMinutes(5));
        byte[] body = randomBytes(5000);

        HttpResponse<String> withType = put(url, body, "binary/octet-stream");
        assertThat(withType.statusCode()).isEqualTo(403);
        assertThat(withType.body()).contains("<Code>SignatureDoesNotMatch</Code>");
        assertThat(storage.exists(key)).isFalse();

        HttpResponse<String> withoutType = put(url, body, null);
        assertThat(withoutType.statusCode()).isEqualTo(200);
        assertThat(withoutType.headers().firstValue("ETag")).hasValue("\"" + md5(body) + "\"");
        assertThat(Files.readAllBytes(storage.pathOf(key))).isEqualTo(body);
    }

    @Test
    void chunkedPutIsRefusedForMissingContentLength() throws Exception {
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));
        byte[] body = randomBytes(20_000);
        // No known length: the JDK client falls back to Transfer-Encoding: chunked.
        HttpRequest request = HttpRequest.newBuilder(url)
                .header("Content-Type", "video/mp4")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
                .build();

        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(411);
        assertThat(response.body()).contains("<Code>MissingContentLength</Code>");
        assertThat(storage.exists(key)).isFalse();
    }

    @Test
    void expiredPutIsRefused() throws Exception {
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofSeconds(-5));

        HttpResponse<String> response = put(url, randomBytes(100), "video/mp4");

        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("<Code>AccessDenied</Code>").contains("<Message>Request has expired</Message>");
        assertThat(storage.exists(key)).isFalse();
    }

    @Test
    void tamperedUrlsAreRefusedAsSignatureMismatch() throws Exception {
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));
        String text = url.toString();
        String signature = text.substring(text.indexOf("X-Sim-Signature=") + "X-Sim-Signature=".length());
        String flipped = (signature.charAt(0) == 'a' ? "b" : "a") + signature.substring(1);
        long expires = Long.parseLong(text.replaceAll(".*X-Sim-Expires=(\\d+).*", "$1"));

        URI badSignature = URI.create(text.replace(signature, flipped));
        URI longerLife = URI.create(text.replace("X-Sim-Expires=" + expires, "X-Sim-Expires=" + (expires + 86_400)));
        URI otherKey = URI.create(text.replace("/clip.mp4?", "/other.mp4?"));
        URI otherType = URI.create(text.replace("X-Sim-ContentType=video%2Fmp4", "X-Sim-ContentType=video%2Fwebm"));

        for (URI tampered : new URI[] {badSignature, longerLife, otherKey}) {
            HttpResponse<String> response = put(tampered, randomBytes(100), "video/mp4");
            assertThat(response.statusCode()).as(tampered.toString()).isEqualTo(403);
            assertThat(response.body()).contains("<Code>SignatureDoesNotMatch</Code>");
        }
        HttpResponse<String> response = put(otherType, randomBytes(100), "video/webm");
        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("<Code>SignatureDoesNotMatch</Code>");
        assertThat(storage.exists(key)).isFalse();
    }

    @Test
    void storedObjectIsServedByPresignedGetWithTypeLengthAndRanges() throws Exception {
        String key = newKey("voice.mp3");
        byte[] bytes = randomBytes(10_000);
        storage.putBytes(key, bytes);
        URI url = storage.presignGet(key, Duration.ofMinutes(5));

        HttpResponse<byte[]> whole = HTTP.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(whole.statusCode()).isEqualTo(200);
        assertThat(whole.body()).isEqualTo(bytes);
        assertThat(whole.headers().firstValue("Content-Type")).hasValue("audio/mpeg");
        assertThat(whole.headers().firstValue("Content-Length")).hasValue("10000");

        HttpResponse<byte[]> part = HTTP.send(HttpRequest.newBuilder(url).header("Range", "bytes=100-199").GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(part.statusCode()).isEqualTo(206);
        assertThat(part.headers().firstValue("Content-Range")).hasValue("bytes 100-199/10000");
        assertThat(part.body()).isEqualTo(java.util.Arrays.copyOfRange(bytes, 100, 200));

        URI missing = storage.presignGet(newKey("nothing.mp4"), Duration.ofMinutes(5));
        HttpResponse<String> notFound = HTTP.send(HttpRequest.newBuilder(missing).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(notFound.statusCode()).isEqualTo(404);
        assertThat(notFound.body()).contains("<Code>NoSuchKey</Code>");

        // A PUT link is not a GET link.
        URI putLink = storage.presignPut(key, null, Duration.ofMinutes(5));
        HttpResponse<String> wrongMethod = HTTP.send(HttpRequest.newBuilder(putLink).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(wrongMethod.statusCode()).isEqualTo(403);
        assertThat(wrongMethod.body()).contains("<Code>SignatureDoesNotMatch</Code>");
    }

    @Test
    void expiredGetIsRefused() throws Exception {
        String key = newKey("voice.mp3");
        storage.putBytes(key, randomBytes(100));
        URI url = storage.presignGet(key, Duration.ofSeconds(-5));

        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(403);
        assertThat(response.body()).contains("<Code>AccessDenied</Code>").contains("Request has expired");
    }

    @Test
    void uploadLargerThanTheHttpBodyLimitIsStreamedToDisk() throws Exception {
        // Quarkus refuses bodies over quarkus.http.limits.max-body-size (10 MiB) elsewhere; a bucket must not.
        Path source = Files.createTempFile("big", ".mp4");
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        Random random = new Random(7);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(source)) {
            for (int i = 0; i < 24; i++) {
                random.nextBytes(chunk);
                md5.update(chunk);
                out.write(chunk);
            }
        }
        String key = newKey("big.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));

        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(url).header("Content-Type", "video/mp4")
                .PUT(HttpRequest.BodyPublishers.ofFile(source)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("ETag")).hasValue("\"" + HexFormat.of().formatHex(md5.digest()) + "\"");
        assertThat(Files.size(storage.pathOf(key))).isEqualTo(24L << 20);
        assertThat(Files.mismatch(source, storage.pathOf(key))).isEqualTo(-1);
        Files.delete(source);
    }

    @Test
    void expectContinueGetsTheRefusalBeforeSendingTheBody() throws Exception {
        // Raw HTTP: the JDK 17 client waits forever for a 100 that a refusing server never sends (JDK-8286171).
        String key = newKey("clip.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));
        byte[] body = randomBytes(1000);

        try (Socket socket = new Socket("localhost", SandboxSimulatorTestProfile.PORT)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(putHead(url, "video/quicktime", body.length, true));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(answer).startsWith("HTTP/1.1 403").contains("<Code>SignatureDoesNotMatch</Code>");
        }
        assertThat(storage.exists(key)).isFalse();

        try (Socket socket = new Socket("localhost", SandboxSimulatorTestProfile.PORT)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(putHead(url, "video/mp4", body.length, true));
            java.io.BufferedReader in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
            assertThat(in.readLine()).startsWith("HTTP/1.1 100");
            assertThat(in.readLine()).isEmpty();
            socket.getOutputStream().write(body);
            assertThat(in.readLine()).startsWith("HTTP/1.1 200");
        }
        assertThat(Files.readAllBytes(storage.pathOf(key))).isEqualTo(body);
    }

    private static byte[] putHead(URI url, String contentType, long length, boolean expectContinue) {
        return ("PUT " + url.getRawPath() + "?" + url.getRawQuery() + " HTTP/1.1\r\n"
                + "Host: localhost\r\nContent-Type: " + contentType + "\r\nContent-Length: " + length + "\r\n"
                + (expectContinue ? "Expect: 100-continue\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void bodyCutShortLeavesNoObjectAndNoTemporaryFile() throws Exception {
        String key = newKey("cut.mp4");
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));
        try (Socket socket = new Socket("localhost", SandboxSimulatorTestProfile.PORT)) {
            OutputStream out = socket.getOutputStream();
            out.write(putHead(url, "video/mp4", 100_000, false));
            out.write(randomBytes(30_000));
            out.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> partFiles() > 0);
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> partFiles() == 0);
        assertThat(storage.exists(key)).isFalse();
        assertThat(storage.putCount(key)).isZero();
        assertThat(storage.putAttempts(key)).isEqualTo(1);
    }

    @Test
    void keysWithSpacesAndNonAsciiNamesRoundTrip() throws Exception {
        String key = newKey("Sunum 01 – çok güzel+final.mp4");
        byte[] body = randomBytes(512);
        URI url = storage.presignPut(key, "video/mp4", Duration.ofMinutes(5));
        assertThat(url.toString()).doesNotContain(" ");

        assertThat(put(url, body, "video/mp4").statusCode()).isEqualTo(200);
        assertThat(storage.keyOf(url)).isEqualTo(key);

        HttpResponse<byte[]> back = HTTP.send(HttpRequest.newBuilder(storage.presignGet(key, Duration.ofMinutes(1))).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(back.statusCode()).isEqualTo(200);
        assertThat(back.body()).isEqualTo(body);
    }

    @Test
    void serverSideCopiesNeverNotifyUploadListenersButHttpUploadsDo() throws Exception {
        String uploaded = newKey("listened.mp4");
        String copied = newKey("copied.mp4");
        java.util.List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        storage.onUpload(heard::add);

        assertThat(put(storage.presignPut(uploaded, "video/mp4", Duration.ofMinutes(1)), randomBytes(64), "video/mp4").statusCode())
                .isEqualTo(200);
        storage.putFile(copied, storage.pathOf(uploaded));

        assertThat(heard).contains(uploaded).doesNotContain(copied);
        assertThat(Files.readAllBytes(storage.pathOf(copied))).isEqualTo(Files.readAllBytes(storage.pathOf(uploaded)));
        assertThat(storage.putCount(copied)).isZero();
    }

    // ------------------------------------------------------------------ helpers

    static HttpResponse<String> put(URI url, byte[] body, String contentType) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).PUT(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String newKey(String name) {
        return "tests/" + UUID.randomUUID() + "/" + name;
    }

    static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(n).nextBytes(bytes);
        return bytes;
    }

    static String md5(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    }

    private static long partFiles() throws IOException {
        Path dir = SandboxSimulatorTestProfile.DATA_DIR.resolve(".sandbox/storage-tmp");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".part")).count();
        }
    }
}
