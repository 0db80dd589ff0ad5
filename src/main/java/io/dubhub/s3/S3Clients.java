package io.dubhub.s3;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.net.URI;
import java.time.Duration;

/**
 * The hub's S3 client and presigner, built from {@link S3Config}. Created on first use, so a hub
 * without any bucket never touches the AWS credential chain.
 */
@ApplicationScoped
public class S3Clients {

    private static final Logger LOG = Logger.getLogger(S3Clients.class);

    @Inject
    S3Config config;

    @Produces
    @Singleton
    S3Client s3Client() {
        var builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofMinutes(2)))
                .region(Region.of(config.region()))
                .credentialsProvider(credentials())
                .forcePathStyle(config.pathStyle())
                // S3-compatible stores (MinIO, S3Proxy, R2...) do not all take the SDK's default CRC trailers.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.addExecutionInterceptor(new NoExpectContinue()));
        config.endpoint().filter(e -> !e.isBlank()).map(URI::create).ifPresent(builder::endpointOverride);
        LOG.infof("S3 client: endpoint %s, region %s, path style %s, %s credentials",
                config.endpoint().orElse("AWS"), config.region(), config.pathStyle(), credentialsKind());
        return builder.build();
    }

    void close(@Disposes S3Client client) {
        client.close();
    }

    @Produces
    @Singleton
    S3Presigner s3Presigner() {
        var builder = S3Presigner.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(credentials())
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build());
        config.endpoint().filter(e -> !e.isBlank()).map(URI::create).ifPresent(builder::endpointOverride);
        return builder.build();
    }

    void close(@Disposes S3Presigner presigner) {
        presigner.close();
    }

    private boolean staticKeys() {
        return config.accessKey().filter(k -> !k.isBlank()).isPresent()
                && config.secretKey().filter(k -> !k.isBlank()).isPresent();
    }

    private String credentialsKind() {
        return staticKeys() ? "static" : "default-chain";
    }

    AwsCredentialsProvider credentials() {
        if (staticKeys()) {
            return StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(config.accessKey().get(), config.secretKey().get()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
