package io.dubhub.s3;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.util.Optional;

/**
 * One S3 account for bucket intake, bucket delivery and presigned GETs of bucket sources:
 * HUB_S3_ENDPOINT (empty = AWS), HUB_S3_REGION, HUB_S3_ACCESS_KEY / HUB_S3_SECRET_KEY (else the
 * default AWS credential chain), HUB_S3_PATH_STYLE (MinIO, S3Proxy, most self-hosted stores).
 */
@ConfigMapping(prefix = "hub.s3")
public interface S3Config {

    /** Endpoint override, e.g. http://minio:9000; unset = AWS for the region. */
    Optional<String> endpoint();

    @WithDefault("us-east-1")
    String region();

    Optional<String> accessKey();

    Optional<String> secretKey();

    /** Bucket in the path (http://host/bucket/key) instead of the host name. */
    @WithDefault("false")
    boolean pathStyle();

    /** HUB_S3_PART_SIZE: multipart part size of the S3 sink (5M .. 5G); smaller files go up in one PUT. */
    @WithDefault("64M")
    io.quarkus.runtime.configuration.MemorySize partSize();

    /** HUB_S3_PARALLEL_PARTS: parts of one file uploaded at once. */
    @WithDefault("4")
    int parallelParts();
}
