package io.dubhub.testing;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.net.URI;
import java.nio.file.Files;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The emulator the upload tests lean on really checks signatures, and the resource points at it. */
class S3ProxyProcessTest {

    @Test
    void sharedProcessChecksCredentialsLikeS3() {
        S3ProxyProcess s3 = S3ProxyProcess.shared();
        assertThat(s3.startupTime()).isPositive();
        assertThat(Files.exists(s3.logFile())).isTrue();
        String bucket = s3.createBucket("auth-" + UUID.randomUUID().toString().substring(0, 8));
        try (S3Client wrongSecret = S3Client.builder()
                .endpointOverride(s3.endpoint())
                .region(Region.of(s3.region()))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(s3.accessKey(), s3.secretKey() + "x")))
                .build()) {
            S3Exception refused = catchThrowableOfType(S3Exception.class,
                    () -> wrongSecret.putObject(p -> p.bucket(bucket).key("k"), RequestBody.fromString("x")));
            assertThat(refused).isNotNull();
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.awsErrorDetails().errorCode()).isEqualTo("SignatureDoesNotMatch");
        } finally {
            s3.deleteBucket(bucket);
        }
        assertThat(s3.client().listBuckets().buckets()).noneMatch(b -> b.name().equals(bucket));
    }

    @Test
    void resourcePointsTheHubAtTheSharedProcessWithItsBuckets() {
        S3ProxyResource resource = new S3ProxyResource();
        resource.init(Map.of("buckets", "inbox-r, outbox-r"));
        Map<String, String> config = resource.start();
        S3ProxyProcess s3 = S3ProxyProcess.shared();
        try {
            assertThat(config).containsExactlyInAnyOrderEntriesOf(Map.of(
                    "hub.s3.endpoint", "http://127.0.0.1:" + s3.port(),
                    "hub.s3.region", "us-east-1",
                    "hub.s3.access-key", s3.accessKey(),
                    "hub.s3.secret-key", s3.secretKey(),
                    "hub.s3.path-style", "true"));
            assertThat(URI.create(config.get("hub.s3.endpoint"))).isEqualTo(s3.endpoint());
            assertThat(s3.client().listBuckets().buckets()).extracting(b -> b.name())
                    .contains("inbox-r", "outbox-r");
        } finally {
            resource.stop();
            s3.deleteBucket("inbox-r");
            s3.deleteBucket("outbox-r");
        }
    }
}
