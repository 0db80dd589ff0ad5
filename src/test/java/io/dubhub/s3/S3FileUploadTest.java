package io.dubhub.s3;

import io.dubhub.testing.S3ProxyProcess;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Multipart upload straight from a file, against a real S3Proxy: same bytes, no parts left behind. */
class S3FileUploadTest {

    @Test
    void largeFileGoesUpInPartsWithTheSameBytes() throws Exception {
        S3ProxyProcess proxy = S3ProxyProcess.shared();
        S3Client s3 = proxy.client();
        String bucket = proxy.createBucket("upload-" + Long.toHexString(System.nanoTime()));
        Path file = Files.createTempFile("multipart", ".bin");
        S3FileUpload.Layout layout = new S3FileUpload.Layout(S3FileUpload.MIN_PART_SIZE, 2);
        long size = 2 * layout.partSize() + 12345; // three parts, the last one short
        MessageDigest local = MessageDigest.getInstance("SHA-256");
        try (OutputStream out = Files.newOutputStream(file)) {
            Random random = new Random(42);
            byte[] buf = new byte[1 << 20];
            for (long left = size; left > 0; ) {
                random.nextBytes(buf);
                int n = (int) Math.min(buf.length, left);
                out.write(buf, 0, n);
                local.update(buf, 0, n);
                left -= n;
            }
        }
        try {
            S3FileUpload.Uploaded uploaded = S3FileUpload.upload(s3, null, layout, bucket, "out/big.bin", file, size, "application/octet-stream");

            assertThat(uploaded.requests()).isEqualTo(3 + 2);
            assertThat(uploaded.completeSeconds()).as("the store's time to complete, timed apart").isPositive();
            assertThat(s3.headObject(h -> h.bucket(bucket).key("out/big.bin")).contentLength()).isEqualTo(size);
            MessageDigest remote = MessageDigest.getInstance("SHA-256");
            try (InputStream in = s3.getObject(g -> g.bucket(bucket).key("out/big.bin"), ResponseTransformer.toInputStream())) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    remote.update(buf, 0, n);
                }
            }
            assertThat(HexFormat.of().formatHex(remote.digest())).isEqualTo(HexFormat.of().formatHex(local.digest()));
            assertThat(s3.listMultipartUploads(l -> l.bucket(bucket)).uploads()).isEmpty();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void partSizeStaysWithinTenThousandParts() {
        long preferred = S3FileUpload.Layout.DEFAULT.partSize();
        assertThat(S3FileUpload.partSize(100L * 1024 * 1024, preferred)).isEqualTo(preferred);
        long fiveTiB = 5L * 1024 * 1024 * 1024 * 1024;
        long part = S3FileUpload.partSize(fiveTiB, preferred);
        assertThat((fiveTiB + part - 1) / part).isLessThanOrEqualTo(S3FileUpload.MAX_PARTS);
        assertThat(part % (1024 * 1024)).isZero();
    }
}
