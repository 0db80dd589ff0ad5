package io.dubhub.staging;

import io.dubhub.config.HubConfig;
import io.dubhub.http.UrlRedactor;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
class StagedFilesTest {

    @Inject
    StagedFiles staged;

    @Inject
    HubConfig config;

    Path data() {
        return Path.of(config.dataDir()).toAbsolutePath();
    }

    Path file(int size) throws Exception {
        Path dir = Files.createDirectories(data().resolve(".work/staging-test"));
        Path f = dir.resolve("clip-" + UUID.randomUUID() + ".mp4");
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        Files.write(f, bytes);
        return f;
    }

    static Response get(URI url) {
        return given().redirects().follow(false).when().get(url);
    }

    @Test
    void validLinkServesTheExactBytes() throws Exception {
        Path f = file(200_000);
        URI url = staged.stage(f, Duration.ofMinutes(5));

        assertThat(url.toString()).startsWith(config.publicBaseUrl() + "/staged/");
        Response r = get(url);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.header("Content-Type")).isEqualTo("video/mp4");
        assertThat(r.header("Content-Length")).isEqualTo("200000");
        assertThat(r.asByteArray()).isEqualTo(Files.readAllBytes(f));
    }

    @Test
    void rangeServesTheSlice() throws Exception {
        Path f = file(10_000);
        byte[] all = Files.readAllBytes(f);
        URI url = staged.stage(f, Duration.ofMinutes(5));

        Response r = given().header("Range", "bytes=100-1099").when().get(url);
        assertThat(r.statusCode()).isEqualTo(206);
        assertThat(r.header("Content-Range")).isEqualTo("bytes 100-1099/10000");
        assertThat(r.asByteArray()).isEqualTo(Arrays.copyOfRange(all, 100, 1100));

        Response suffix = given().header("Range", "bytes=-10").when().get(url);
        assertThat(suffix.statusCode()).isEqualTo(206);
        assertThat(suffix.asByteArray()).isEqualTo(Arrays.copyOfRange(all, 9990, 10000));

        Response bad = given().header("Range", "bytes=20000-").when().get(url);
        assertThat(bad.statusCode()).isEqualTo(416);
        assertThat(bad.header("Content-Range")).isEqualTo("bytes */10000");
    }

    @Test
    void headAnswersTheHeadersWithoutABody() throws Exception {
        Path f = file(4321);
        URI url = staged.stage(f, Duration.ofMinutes(5));

        Response r = given().when().head(url);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.header("Content-Length")).isEqualTo("4321");
        assertThat(r.header("Accept-Ranges")).isEqualTo("bytes");
        assertThat(r.asByteArray()).isEmpty();
    }

    @Test
    void expiredLinkIsGone() throws Exception {
        URI url = staged.stage(file(100), Duration.ofSeconds(-5));

        Response r = get(url);
        assertThat(r.statusCode()).isEqualTo(410);
        assertThat(r.asString()).contains("expired");
    }

    @Test
    void tamperedTokenIsForbidden() throws Exception {
        URI url = staged.stage(file(100), Duration.ofMinutes(5));
        String s = url.toString();
        int dot = s.lastIndexOf('.');
        String token = s.substring(s.lastIndexOf('/') + 1);

        // last char of the signature
        assertThat(get(URI.create(flip(s, s.length() - 1))).statusCode()).isEqualTo(403);
        // a char of the payload
        assertThat(get(URI.create(flip(s, s.lastIndexOf('/') + 5))).statusCode()).isEqualTo(403);
        // payload of one file, signature of another
        URI other = staged.stage(file(101), Duration.ofMinutes(5));
        String otherSig = other.toString().substring(other.toString().lastIndexOf('.'));
        assertThat(get(URI.create(s.substring(0, dot) + otherSig)).statusCode()).isEqualTo(403);
        // garbage
        assertThat(get(URI.create(config.publicBaseUrl() + "/staged/nonsense")).statusCode()).isEqualTo(403);
        assertThat(get(URI.create(config.publicBaseUrl() + "/staged/..%2F..%2Fetc%2Fpasswd")).statusCode()).isIn(403, 404);
        assertThat(token).contains(".");
    }

    @Test
    void pathOutsideTheDataFolderIsForbidden() throws Exception {
        Path outside = Files.createTempFile("staged-outside", ".txt");
        Files.writeString(outside, "secret");
        try {
            assertThatThrownBy(() -> staged.stage(outside, Duration.ofMinutes(5)))
                    .isInstanceOf(IllegalArgumentException.class);
            String token = staged.mint(outside.toRealPath().toString(), Instant.now().plusSeconds(60).getEpochSecond());
            assertThat(get(staged.urlFor(token)).statusCode()).isEqualTo(403);
            // ../ in the signed path
            String dotted = data().toRealPath() + "/../" + data().getFileName() + "/x.txt";
            String token2 = staged.mint(dotted, Instant.now().plusSeconds(60).getEpochSecond());
            assertThat(get(staged.urlFor(token2)).statusCode()).isEqualTo(403);
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void symlinkPointingOutsideIsForbidden() throws Exception {
        Path outside = Files.createTempFile("staged-target", ".mp4");
        Files.writeString(outside, "not yours");
        Path link = data().resolve(".work/staging-test/link-" + UUID.randomUUID() + ".mp4");
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, outside);
        try {
            URI url = staged.stage(link, Duration.ofMinutes(5));
            assertThat(get(url).statusCode()).isEqualTo(403);
        } finally {
            Files.deleteIfExists(link);
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void directoryIsForbidden() throws Exception {
        Path dir = Files.createDirectories(data().resolve(".work/staging-test/dir-" + UUID.randomUUID()));
        assertThat(get(staged.stage(dir, Duration.ofMinutes(5))).statusCode()).isEqualTo(403);
    }

    @Test
    void deletedFileIsNotFound() throws Exception {
        Path f = file(100);
        URI url = staged.stage(f, Duration.ofMinutes(5));
        Files.delete(f);
        assertThat(get(url).statusCode()).isEqualTo(404);
    }

    @Test
    void secretIsKeptInTheDataFolderOwnerOnly() throws Exception {
        staged.stage(file(10), Duration.ofMinutes(1));
        Path secret = data().resolve(StagedFiles.SECRET_FILE);
        assertThat(secret).exists();
        assertThat(Files.getPosixFilePermissions(secret)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void redactorHidesThePathToken() throws Exception {
        URI url = staged.stage(file(10), Duration.ofMinutes(1));
        String token = url.getPath().substring("/staged/".length());
        assertThat(UrlRedactor.redact(url)).doesNotContain(token).endsWith("/staged/REDACTED");
    }

    static String flip(String s, int i) {
        char c = s.charAt(i);
        char r = c == 'A' ? 'B' : 'A';
        return s.substring(0, i) + r + s.substring(i + 1);
    }
}
