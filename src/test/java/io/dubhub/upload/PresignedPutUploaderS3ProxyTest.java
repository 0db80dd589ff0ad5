package io.dubhub.upload;

import io.dubhub.http.BulkHttp;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.ProviderException;
import io.dubhub.testing.S3ProxyProcess;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.presigner.model.PresignedPutObjectRequest;
import software.amazon.awssdk.services.s3.presigner.model.PresignedUploadPartRequest;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

/**
 * The upload quirks against a real, independent S3 implementation (S3Proxy in its own process):
 * what a signed Content-Type means on SigV4 and SigV2, ETags of SigV2 multipart parts, and
 * how a refused or expired link reads in our error.
 */
class PresignedPutUploaderS3ProxyTest {

    private static final int MIB = 1024 * 1024;
    private static final long PART_SIZE = 5L * MIB;

    @TempDir
    static Path dir;

    static S3ProxyProcess s3;
    static String bucket;
    /** 5 MiB of random bytes standing in for a video. */
    static Path video;
    /** 5 MiB + 1.5 MiB, so a multipart upload has one full part and a short last one. */
    static Path longVideo;
    /**
     * What refused uploads send. S3Proxy (Jetty) answers a refused PUT before it reads the body (after
     * a "100 Continue" it should not have sent) and then closes the connection; with a body bigger than
     * the socket buffers the client loses that 403 to the reset and sees an I/O error instead. Real S3
     * and Azure refuse instead of the 100 (BulkHttpTest proves the client side of that). A 16 KiB body
     * leaves in one write with the request head, so the refusal itself is what these tests see.
     */
    static Path clip;

    MeterRegistry registry;
    PresignedPutUploader uploader;

    @BeforeAll
    static void startS3ProxyAndWriteSources() throws IOException {
        s3 = S3ProxyProcess.shared();
        bucket = s3.createBucket("uploads-" + UUID.randomUUID().toString().substring(0, 8));
        video = randomFile(dir.resolve("source.mp4"), 5 * MIB, 1);
        longVideo = randomFile(dir.resolve("long.mp4"), 5 * MIB + 3 * MIB / 2, 2);
        clip = randomFile(dir.resolve("clip.mp4"), 16 * 1024, 3);
    }

    @AfterAll
    static void removeBucket() {
        s3.deleteBucket(bucket);
    }

    @BeforeEach
    void uploader() throws ReflectiveOperationException {
        registry = new SimpleMeterRegistry();
        HubMetrics metrics = new HubMetrics();
        Field field = HubMetrics.class.getDeclaredField("registry");
        field.setAccessible(true);
        field.set(metrics, registry);
        uploader = new PresignedPutUploader();
        uploader.bulk = new BulkHttp(Duration.ofSeconds(10), Duration.ofMinutes(1));
        uploader.metrics = metrics;
    }

    @Test
    void sigV4UrlSignedForVideoMp4AcceptsExactlyThatTypeAndStoresTheBytes() throws Exception {
        String key = "dublab/" + UUID.randomUUID() + ".mp4";
        PresignedPutObjectRequest presigned = presignV4Put(key, "video/mp4", Duration.ofMinutes(10));
        assertThat(presigned.signedHeaders()).containsKey("content-type");

        UploadResult result = uploader.putFile("dublab", presigned.url().toURI(), video, "video/mp4");

        assertThat(result.status()).isEqualTo(200);
        assertThat(result.bytes()).isEqualTo(Files.size(video));
        assertThat(result.etag()).isEqualTo(quotedMd5(video, 0, Files.size(video)));
        HeadObjectResponse head = s3.client().headObject(h -> h.bucket(bucket).key(key));
        assertThat(head.contentLength()).isEqualTo(Files.size(video));
        assertThat(head.contentType()).isEqualTo("video/mp4");
        assertThat(storedSha256(key)).isEqualTo(sha256(video));
        assertThat(registry.get("dubhub.bytes.moved").tag("provider", "dublab").tag("direction", "upload")
                .counter().count()).isEqualTo((double) Files.size(video));
        assertThat(registry.get("dubhub.provider.call").tag("outcome", "2xx").timer().count()).isEqualTo(1);
    }

    @Test
    void sigV4UrlSignedForVideoMp4RefusesAnotherContentTypeAsSignatureMismatch() throws Exception {
        String key = "dublab/" + UUID.randomUUID() + ".mp4";
        URI url = presignV4Put(key, "video/mp4", Duration.ofMinutes(10)).url().toURI();

        ProviderException refused = catchThrowableOfType(ProviderException.class,
                () -> uploader.putFile("dublab", url, clip, "application/octet-stream"));

        assertThat(refused).isNotNull();
        assertThat(refused.httpStatus()).isEqualTo(403);
        assertThat(refused.kind()).isEqualTo(ProviderException.Kind.REJECTED);
        assertThat(refused.providerMessage()).contains("SignatureDoesNotMatch");
        String signature = url.getQuery().replaceAll(".*X-Amz-Signature=([0-9a-f]+).*", "$1");
        assertThat(refused.getMessage())
                .contains("signature")
                .contains("Content-Type 'application/octet-stream'")
                .contains("X-Amz-Signature=REDACTED")
                .doesNotContain(signature);
        assertThat(registry.get("dubhub.provider.call").tag("outcome", "4xx").timer().count()).isEqualTo(1);
        assertThat(registry.find("dubhub.bytes.moved").counter()).isNull();
        assertThatThrownBy(() -> s3.client().headObject(h -> h.bucket(bucket).key(key)))
                .isInstanceOf(NoSuchKeyException.class);

        // The link itself is good: with the type it was signed for, the same URL works.
        assertThat(uploader.putFile("dublab", url, video, "video/mp4").status()).isEqualTo(200);
    }

    @Test
    void sigV2UrlSignedWithoutContentTypeAcceptsOnlyARequestWithoutOne() throws Exception {
        String key = "speechlab/" + UUID.randomUUID() + ".mp4";
        URI url = presignV2Put(key, Map.of(), Instant.now().plus(Duration.ofMinutes(10)));

        UploadResult result = uploader.putFile("speechlab", url, video, null);

        assertThat(result.status()).isEqualTo(200);
        assertThat(result.etag()).isEqualTo(quotedMd5(video, 0, Files.size(video)));
        assertThat(s3.client().headObject(h -> h.bucket(bucket).key(key)).contentLength())
                .isEqualTo(Files.size(video));
        assertThat(storedSha256(key)).isEqualTo(sha256(video));

        ProviderException refused = catchThrowableOfType(ProviderException.class,
                () -> uploader.putFile("speechlab", url, clip, "video/mp4"));

        assertThat(refused).isNotNull();
        assertThat(refused.httpStatus()).isEqualTo(403);
        assertThat(refused.providerMessage()).contains("SignatureDoesNotMatch");
        assertThat(refused.getMessage()).contains("signature").contains("Content-Type 'video/mp4'");
        assertThat(storedSha256(key)).as("the refused PUT left the stored object alone").isEqualTo(sha256(video));
    }

    @Test
    void sigV2PresignedMultipartPartsCarryNoContentTypeAndTheirEtagsCompleteTheUpload() throws Exception {
        String key = "speechlab/" + UUID.randomUUID() + ".mp4";
        S3Client client = s3.client();
        String uploadId = client.createMultipartUpload(c -> c.bucket(bucket).key(key)).uploadId();
        long size = Files.size(longVideo);
        Instant expires = Instant.now().plus(Duration.ofMinutes(10));

        List<CompletedPart> parts = new ArrayList<>();
        for (int partNumber = 1; (long) (partNumber - 1) * PART_SIZE < size; partNumber++) {
            long offset = (partNumber - 1) * PART_SIZE;
            long length = Math.min(PART_SIZE, size - offset);
            URI url = presignV2Put(key, Map.of("partNumber", String.valueOf(partNumber), "uploadId", uploadId),
                    expires);

            UploadResult part = uploader.putRange("speechlab", url, longVideo, offset, length, null, Map.of());

            assertThat(part.status()).isEqualTo(200);
            assertThat(part.bytes()).isEqualTo(length);
            assertThat(part.etag()).isEqualTo(quotedMd5(longVideo, offset, length));
            int n = partNumber;
            parts.add(CompletedPart.builder().partNumber(n).eTag(part.etag()).build());
        }
        assertThat(parts).hasSize(2);

        client.completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts)));

        HeadObjectResponse head = client.headObject(h -> h.bucket(bucket).key(key));
        assertThat(head.contentLength()).isEqualTo(size);
        assertThat(head.eTag()).endsWith("-2\"");
        assertThat(storedSha256(key)).isEqualTo(sha256(longVideo));
    }

    @Test
    void sigV4PresignedMultipartPartsCompleteTheUpload() throws Exception {
        String key = "multipart-v4/" + UUID.randomUUID() + ".mp4";
        S3Client client = s3.client();
        String uploadId = client.createMultipartUpload(c -> c.bucket(bucket).key(key)).uploadId();
        long size = Files.size(longVideo);

        List<CompletedPart> parts = new ArrayList<>();
        for (int partNumber = 1; (long) (partNumber - 1) * PART_SIZE < size; partNumber++) {
            long offset = (partNumber - 1) * PART_SIZE;
            long length = Math.min(PART_SIZE, size - offset);
            int n = partNumber;
            PresignedUploadPartRequest presigned = s3.presigner().presignUploadPart(p -> p
                    .signatureDuration(Duration.ofMinutes(10))
                    .uploadPartRequest(u -> u.bucket(bucket).key(key).uploadId(uploadId).partNumber(n)));

            UploadResult part = uploader.putRange("speechlab", presigned.url().toURI(), longVideo, offset, length,
                    null, Map.of());

            assertThat(part.status()).isEqualTo(200);
            assertThat(part.etag()).isEqualTo(quotedMd5(longVideo, offset, length));
            parts.add(CompletedPart.builder().partNumber(n).eTag(part.etag()).build());
        }

        client.completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts)));

        assertThat(client.headObject(h -> h.bucket(bucket).key(key)).contentLength()).isEqualTo(size);
        assertThat(storedSha256(key)).isEqualTo(sha256(longVideo));
    }

    @Test
    void expiredSigV4UrlIsReportedAsExpired() throws Exception {
        String key = "dublab/" + UUID.randomUUID() + ".mp4";
        PresignedPutObjectRequest presigned = presignV4Put(key, "video/mp4", Duration.ofSeconds(1));
        // X-Amz-Date has whole seconds, so give the server's clock one more second past the expiry.
        Instant surelyExpired = presigned.expiration().plusSeconds(1);
        await("presigned URL expiry").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> Instant.now().isAfter(surelyExpired));

        ProviderException expired = catchThrowableOfType(ProviderException.class,
                () -> uploader.putFile("dublab", presigned.url().toURI(), clip, "video/mp4"));

        assertThat(expired).isNotNull();
        assertThat(expired.httpStatus()).isEqualTo(403);
        assertThat(expired.kind()).isEqualTo(ProviderException.Kind.REJECTED);
        assertThat(expired.providerMessage()).contains("Request has expired");
        assertThat(expired.getMessage()).contains("expired").contains("dublab");
        assertThatThrownBy(() -> s3.client().headObject(h -> h.bucket(bucket).key(key)))
                .isInstanceOf(NoSuchKeyException.class);
    }

    private static PresignedPutObjectRequest presignV4Put(String key, String contentType, Duration validFor) {
        return s3.presigner().presignPutObject(p -> p
                .signatureDuration(validFor)
                .putObjectRequest(o -> o.bucket(bucket).key(key).contentType(contentType)));
    }

    /**
     * A SigV2 query-string PUT as SpeechLab hands them out: Content-MD5 and Content-Type empty in
     * the string to sign, sub-resources (partNumber, uploadId) sorted by name and signed raw.
     */
    private static URI presignV2Put(String key, Map<String, String> subresources, Instant expiresAt)
            throws Exception {
        long expires = expiresAt.getEpochSecond();
        String resource = "/" + bucket + "/" + key;
        Map<String, String> sorted = new TreeMap<>(subresources);
        String signedSubresources = sorted.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("&"));
        String stringToSign = "PUT\n\n\n" + expires + "\n" + resource
                + (signedSubresources.isEmpty() ? "" : "?" + signedSubresources);
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(s3.secretKey().getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
        String signature = Base64.getEncoder().encodeToString(mac.doFinal(stringToSign.getBytes(StandardCharsets.UTF_8)));

        StringBuilder query = new StringBuilder();
        sorted.forEach((name, value) -> query.append(name).append('=').append(encode(value)).append('&'));
        query.append("AWSAccessKeyId=").append(encode(s3.accessKey()))
                .append("&Expires=").append(expires)
                .append("&Signature=").append(encode(signature));
        return URI.create(s3.endpoint() + resource + "?" + query);
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static String storedSha256(String key) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (ResponseInputStream<GetObjectResponse> in = s3.client().getObject(g -> g.bucket(bucket).key(key))) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(digest("SHA-256", file, 0, Files.size(file)));
    }

    private static String quotedMd5(Path file, long offset, long length) throws Exception {
        return "\"" + HexFormat.of().formatHex(digest("MD5", file, offset, length)) + "\"";
    }

    private static byte[] digest(String algorithm, Path file, long offset, long length) throws Exception {
        MessageDigest digest = MessageDigest.getInstance(algorithm);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            channel.position(offset);
            InputStream in = Channels.newInputStream(channel);
            byte[] buf = new byte[64 * 1024];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break;
                }
                digest.update(buf, 0, n);
                left -= n;
            }
        }
        return digest.digest();
    }

    private static Path randomFile(Path file, int size, long seed) throws IOException {
        byte[] chunk = new byte[MIB];
        Random random = new Random(seed);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int written = 0; written < size; written += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk, 0, Math.min(chunk.length, size - written));
            }
        }
        return file;
    }
}
