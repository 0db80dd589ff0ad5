package io.dubhub.staging;

import io.dubhub.testing.FreshDataDir;
import io.dubhub.testing.S3ProxyProcess;
import io.dubhub.testing.S3ProxyResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Presigned GETs of bucket sources, against a real S3Proxy: no credentials leave the hub. */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = S3ProxyResource.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "buckets", value = StagedObjectsTest.BUCKET))
class StagedObjectsTest {

    static final String BUCKET = "staged-objects";
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Inject
    StagedFiles staged;

    @Inject
    S3Client s3;

    @Test
    void presignedGetDownloadsTheExactBytesWithoutCredentials() throws Exception {
        byte[] body = new byte[123_456];
        new Random(7).nextBytes(body);
        String key = "sources/a folder/clip ü.mp4";
        // written with the hub's own client (path style, static keys from HUB_S3_*)
        s3.putObject(p -> p.bucket(BUCKET).key(key), RequestBody.fromBytes(body));

        URI url = staged.stageObject(BUCKET, key, Duration.ofMinutes(10));

        assertThat(url.toString()).startsWith(S3ProxyProcess.shared().endpoint() + "/" + BUCKET + "/");
        assertThat(url.toString()).doesNotContain(S3ProxyProcess.shared().secretKey());
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(body);

        // the same URL with the signature altered is refused
        String s = url.toString();
        int i = s.indexOf("X-Amz-Signature=") + "X-Amz-Signature=".length();
        String tampered = s.substring(0, i) + (s.charAt(i) == 'a' ? 'b' : 'a') + s.substring(i + 1);
        HttpResponse<String> bad = HTTP.send(HttpRequest.newBuilder(URI.create(tampered)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(403);
    }

    @Test
    void expiredPresignedGetIsRefused() throws Exception {
        String key = "sources/expiring.mp4";
        s3.putObject(p -> p.bucket(BUCKET).key(key), RequestBody.fromString("short-lived"));

        URI url = staged.stageObject(BUCKET, key, Duration.ofSeconds(1));
        Thread.sleep(2_500);

        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(403);
    }
}
