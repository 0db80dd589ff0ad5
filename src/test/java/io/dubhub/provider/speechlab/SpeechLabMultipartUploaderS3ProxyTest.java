package io.dubhub.provider.speechlab;

import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.speechlab.SpeechLabMultipartUploader.Part;
import io.dubhub.testing.S3ProxyProcess;
import io.dubhub.http.BulkHttp;
import io.dubhub.upload.PresignedPutUploader;
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

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * SpeechLab's multipart uploader against a real S3 (S3Proxy in its own process) with SigV2
 * query-string part URLs signed for no Content-Type, as SpeechLab hands them out.
 */
class SpeechLabMultipartUploaderS3ProxyTest {

    private static final int MIB = 1024 * 1024;

    @TempDir
    static Path dir;

    static S3ProxyProcess s3;
    static String bucket;
    static Path video;
    static Path clip;

    PresignedPutUploader puts;
    SpeechLabMultipartUploader multipart;

    @BeforeAll
    static void start() throws IOException {
        s3 = S3ProxyProcess.shared();
        bucket = s3.createBucket("speechlab-" + UUID.randomUUID().toString().substring(0, 8));
        video = randomFile(dir.resolve("talk.mp4"), 11 * MIB + 12345, 7);
        clip = randomFile(dir.resolve("clip.mp4"), 16 * 1024, 8);
    }

    @AfterAll
    static void stop() {
        s3.deleteBucket(bucket);
    }

    static final BulkHttp BULK = new BulkHttp(Duration.ofSeconds(10), Duration.ofMinutes(1));

    @BeforeEach
    void beans() throws ReflectiveOperationException {
        HubMetrics metrics = new HubMetrics();
        set(HubMetrics.class, metrics, "registry", new SimpleMeterRegistry());
        puts = new PresignedPutUploader();
        set(PresignedPutUploader.class, puts, "bulk", BULK);
        set(PresignedPutUploader.class, puts, "metrics", metrics);
        multipart = new SpeechLabMultipartUploader();
        multipart.uploader = puts;
        multipart.retryPause = Duration.ofMillis(50);
    }

    @Test
    void partSizeIsFiveMibOrWhatKeepsUnderTenThousandParts() {
        assertThat(SpeechLabMultipartUploader.partSize(1)).isEqualTo(5L * MIB);
        assertThat(SpeechLabMultipartUploader.partSize(11L * MIB)).isEqualTo(5L * MIB);
        long huge = 100L * 1024 * MIB; // 100 GiB
        long part = SpeechLabMultipartUploader.partSize(huge);
        assertThat(part).isGreaterThan(5L * MIB);
        assertThat(SpeechLabMultipartUploader.partCount(huge, part)).isLessThanOrEqualTo(10_000);
        assertThat(SpeechLabMultipartUploader.partCount(11L * MIB + 1, 5L * MIB)).isEqualTo(3);
    }

    @Test
    void partsWithoutContentTypeAreAcceptedAndTheirEtagsCompleteTheUpload() throws Exception {
        String key = "speechlab/" + UUID.randomUUID() + ".mp4";
        S3Client client = s3.client();
        String uploadId = client.createMultipartUpload(c -> c.bucket(bucket).key(key)).uploadId();
        long size = Files.size(video);
        long partSize = SpeechLabMultipartUploader.partSize(size);
        Instant expires = Instant.now().plus(Duration.ofMinutes(10));
        List<Part> recorded = new ArrayList<>();

        long started = System.nanoTime();
        List<Part> parts = multipart.upload("speechlab", video, size, partSize, n -> presignV2Put(key,
                Map.of("partNumber", String.valueOf(n), "uploadId", uploadId), expires), List.of(), recorded::add);
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("SpeechLab multipart to S3Proxy: %d bytes in %d parts of %d bytes, %.2f s%n", size, parts.size(), partSize, seconds);

        assertThat(parts).hasSize(3);
        assertThat(recorded).isEqualTo(parts);
        assertThat(parts.get(0).bytes()).isEqualTo(5L * MIB);
        assertThat(parts.get(2).bytes()).isEqualTo(size - 10L * MIB);
        for (Part p : parts) {
            long offset = (p.partNumber() - 1) * partSize;
            assertThat(p.etag()).isEqualTo("\"" + md5(video, offset, p.bytes()) + "\"");
        }
        client.completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(
                parts.stream().map(p -> CompletedPart.builder().partNumber(p.partNumber()).eTag(p.etag()).build()).toList())));
        HeadObjectResponse head = client.headObject(h -> h.bucket(bucket).key(key));
        assertThat(head.contentLength()).isEqualTo(size);
        assertThat(head.eTag()).endsWith("-3\"");
        assertThat(storedSha256(key)).isEqualTo(sha256(video));
    }

    @Test
    void aPartUrlRefusesAContentTypeAndTheErrorSaysWhy() throws Exception {
        String key = "speechlab/" + UUID.randomUUID() + ".mp4";
        String uploadId = s3.client().createMultipartUpload(c -> c.bucket(bucket).key(key)).uploadId();
        URI url = presignV2Put(key, Map.of("partNumber", "1", "uploadId", uploadId), Instant.now().plus(Duration.ofMinutes(10)));

        ProviderException refused = catchThrowableOfType(ProviderException.class,
                () -> puts.putRange("speechlab", url, clip, 0, Files.size(clip), "video/mp4", Map.of()));

        assertThat(refused).isNotNull();
        assertThat(refused.httpStatus()).isEqualTo(403);
        assertThat(refused.kind()).isEqualTo(ProviderException.Kind.REJECTED);
        assertThat(refused.providerMessage()).contains("SignatureDoesNotMatch");
        assertThat(refused.getMessage()).contains("signature").contains("Content-Type 'video/mp4'");

        // the same URL, through the SpeechLab uploader (no Content-Type), works
        List<Part> parts = multipart.upload("speechlab", clip, Files.size(clip), 5L * MIB, n -> url, List.of(), p -> { });
        assertThat(parts).hasSize(1);
        assertThat(parts.get(0).etag()).isEqualTo("\"" + md5(clip, 0, Files.size(clip)) + "\"");
        s3.client().abortMultipartUpload(a -> a.bucket(bucket).key(key).uploadId(uploadId));
    }

    @Test
    void partsAlreadyUploadedBeforeARestartAreNotSentAgain() throws Exception {
        String key = "speechlab/" + UUID.randomUUID() + ".mp4";
        String uploadId = s3.client().createMultipartUpload(c -> c.bucket(bucket).key(key)).uploadId();
        long size = Files.size(video);
        Instant expires = Instant.now().plus(Duration.ofMinutes(10));
        List<Integer> asked = new ArrayList<>();
        List<Part> first = multipart.upload("speechlab", video, size, 5L * MIB, n -> {
            asked.add(n);
            return presignV2Put(key, Map.of("partNumber", String.valueOf(n), "uploadId", uploadId), expires);
        }, List.of(), p -> { });
        asked.clear();
        List<Part> again = multipart.upload("speechlab", video, size, 5L * MIB, n -> {
            asked.add(n);
            return presignV2Put(key, Map.of("partNumber", String.valueOf(n), "uploadId", uploadId), expires);
        }, first.subList(0, 2), p -> { });
        assertThat(asked).containsExactly(3);
        assertThat(again).isEqualTo(first);
        s3.client().abortMultipartUpload(a -> a.bucket(bucket).key(key).uploadId(uploadId));
    }

    // ------------------------------------------------------------------ helpers

    private static void set(Class<?> type, Object target, String field, Object value) throws ReflectiveOperationException {
        Field f = type.getDeclaredField(field);
        f.setAccessible(true);
        f.set(target, value);
    }

    /** SigV2 query-string PUT: Content-MD5 and Content-Type empty in the string to sign, sub-resources signed raw. */
    private static URI presignV2Put(String key, Map<String, String> subresources, Instant expiresAt) {
        try {
            long expires = expiresAt.getEpochSecond();
            String resource = "/" + bucket + "/" + key;
            Map<String, String> sorted = new TreeMap<>(subresources);
            String signed = sorted.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("&"));
            String stringToSign = "PUT\n\n\n" + expires + "\n" + resource + (signed.isEmpty() ? "" : "?" + signed);
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(s3.secretKey().getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            String signature = Base64.getEncoder().encodeToString(mac.doFinal(stringToSign.getBytes(StandardCharsets.UTF_8)));
            StringBuilder query = new StringBuilder();
            sorted.forEach((name, value) -> query.append(name).append('=').append(enc(value)).append('&'));
            query.append("AWSAccessKeyId=").append(enc(s3.accessKey())).append("&Expires=").append(expires)
                    .append("&Signature=").append(enc(signature));
            return URI.create(s3.endpoint() + resource + "?" + query);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String enc(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    private static String storedSha256(String key) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (ResponseInputStream<GetObjectResponse> in = s3.client().getObject(g -> g.bucket(bucket).key(key))) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static String sha256(Path file) throws Exception {
        return digest("SHA-256", file, 0, Files.size(file));
    }

    private static String md5(Path file, long offset, long length) throws Exception {
        return digest("MD5", file, offset, length);
    }

    private static String digest(String algorithm, Path file, long offset, long length) throws Exception {
        MessageDigest d = MessageDigest.getInstance(algorithm);
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(offset);
            byte[] buf = new byte[64 * 1024];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break;
                }
                d.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(d.digest());
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
