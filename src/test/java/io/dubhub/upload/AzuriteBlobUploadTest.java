package io.dubhub.upload;

import io.dubhub.http.BulkHttp;
import io.dubhub.provider.ProviderException;
import io.dubhub.testing.AzuriteProcess;
import io.dubhub.testing.Drops;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link AzureBlobUploader} against a real Azurite: its checks, not ours, decide. */
class AzuriteBlobUploadTest {

    static AzuriteProcess azurite;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final BulkHttp BULK = new BulkHttp(Duration.ofSeconds(10), Duration.ofMinutes(1));
    static final String CONTAINER = "perso-upload";

    @BeforeAll
    static void start() throws Exception {
        azurite = AzuriteProcess.start();
        azurite.createContainer(HTTP, CONTAINER);
    }

    @AfterAll
    static void stop() {
        if (azurite != null) {
            azurite.close();
        }
    }

    static Path file(long bytes) throws Exception {
        Path f = Files.createTempFile("blob-", ".mp4");
        Random r = new Random(bytes);
        byte[] buf = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(f)) {
            for (long left = bytes; left > 0; left -= buf.length) {
                r.nextBytes(buf);
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
        return f;
    }

    static HttpResponse<Path> get(String blob, Path into) throws Exception {
        URI read = azurite.blobSas(CONTAINER, blob, Instant.now().plusSeconds(600), "r");
        return HTTP.send(HttpRequest.newBuilder(read).header("x-ms-version", AzuriteProcess.VERSION).GET().build(),
                HttpResponse.BodyHandlers.ofFile(into));
    }

    @Test
    void aPutWithoutBlobTypeIsRefusedWith400AndSaysWhichHeader() throws Exception {
        Path f = file(10_000);
        AzureBlobUploader uploader = new AzureBlobUploader(BULK, "perso", 1 << 20, 1 << 18, 3);
        URI sas = azurite.blobSas(CONTAINER, "no-type.mp4", Instant.now().plusSeconds(600), "rcw");
        assertThatThrownBy(() -> uploader.put(sas, f, 0, Files.size(f), Map.of("Content-Type", "application/octet-stream")))
                .isInstanceOfSatisfying(ProviderException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(400);
                    assertThat(e.kind()).isEqualTo(ProviderException.Kind.REJECTED);
                    assertThat(e.getMessage()).contains("x-ms-blob-type: BlockBlob").contains("HTTP 400");
                });
    }

    @Test
    void anExpiredSasIsReplacedByANewOneAndTheUploadSucceeds() throws Exception {
        Path f = file(300_000);
        List<URI> handedOut = new ArrayList<>();
        AzureBlobUploader.SasSource source = () -> {
            Instant expiry = handedOut.isEmpty() ? Instant.now().minusSeconds(120) : Instant.now().plusSeconds(600);
            URI u = azurite.blobSas(CONTAINER, "expired-first.mp4", expiry, "rcw");
            handedOut.add(u);
            return u;
        };
        AzureBlobUploader uploader = new AzureBlobUploader(BULK, "perso", 1 << 20, 1 << 18, 3);
        AzureBlobUploader.Result result = uploader.upload(f, source);
        assertThat(result.sasUrlsUsed()).isEqualTo(2);
        assertThat(handedOut).hasSize(2);
        assertThat(result.blobUrl().toString()).doesNotContain("?").endsWith("/" + CONTAINER + "/expired-first.mp4");
        Path back = Files.createTempFile("back-", ".mp4");
        HttpResponse<Path> got = get("expired-first.mp4", back);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.headers().firstValue("x-ms-blob-type")).contains("BlockBlob");
        assertThat(Drops.sha256(back)).isEqualTo(Drops.sha256(f));
    }

    @Test
    void aTamperedSasIsRefusedAndTheUploaderGivesUpAfterItsBound() throws Exception {
        Path f = file(1000);
        int[] asked = {0};
        AzureBlobUploader uploader = new AzureBlobUploader(BULK, "perso", 1 << 20, 1 << 18, 3);
        assertThatThrownBy(() -> uploader.upload(f, () -> {
            asked[0]++;
            String good = azurite.blobSas(CONTAINER, "tampered.mp4", Instant.now().plusSeconds(600), "rcw").toString();
            return URI.create(good.replace("sp=rcw", "sp=rw"));
        })).isInstanceOfSatisfying(ProviderException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(403);
            assertThat(e.getMessage()).contains("SAS").contains("gave up after 3");
            assertThat(e.kind()).isEqualTo(ProviderException.Kind.TRANSIENT);
        });
        assertThat(asked[0]).isEqualTo(3);
    }

    @Test
    void aFileAboveTheSinglePutThresholdGoesInBlocks() throws Exception {
        long size = 5L * 1024 * 1024 + 12_345;
        Path f = file(size);
        AzureBlobUploader uploader = new AzureBlobUploader(BULK, "perso", 1024 * 1024, 1024 * 1024, 3);
        long started = System.nanoTime();
        AzureBlobUploader.Result result = uploader.upload(f,
                () -> azurite.blobSas(CONTAINER, "big.mp4", Instant.now().plusSeconds(600), "rcw"));
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("Azurite block upload: %d bytes in %d blocks, %.2f s%n", result.bytes(), result.blocks(), seconds);
        assertThat(result.blocks()).isEqualTo(6);
        assertThat(result.bytes()).isEqualTo(size);
        Path back = Files.createTempFile("back-", ".mp4");
        HttpResponse<Path> got = get("big.mp4", back);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(Files.size(back)).isEqualTo(size);
        assertThat(Drops.sha256(back)).isEqualTo(Drops.sha256(f));
    }

    @Test
    void blocksWhoseSasExpiresMidwayGoOnWithAFreshOne() throws Exception {
        long size = 3L * 1024 * 1024;
        Path f = file(size);
        int[] asked = {0};
        AzureBlobUploader uploader = new AzureBlobUploader(BULK, "perso", 1024 * 1024, 1024 * 1024, 3);
        AzureBlobUploader.Result result = uploader.upload(f, () -> {
            asked[0]++;
            return azurite.blobSas(CONTAINER, "mid.mp4", asked[0] == 1 ? Instant.now().minusSeconds(60) : Instant.now().plusSeconds(600), "rcw");
        });
        assertThat(result.sasUrlsUsed()).isEqualTo(2);
        Path back = Files.createTempFile("back-", ".mp4");
        assertThat(get("mid.mp4", back).statusCode()).isEqualTo(200);
        assertThat(Drops.sha256(back)).isEqualTo(Drops.sha256(f));
    }
}
