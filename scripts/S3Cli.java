import io.dubhub.s3.S3FileUpload;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tiny S3 client for trying the bucket flow where the aws cli is not installed: needs only
 * JDK 17 and the built hub (its AWS SDK jars). Reads the same HUB_S3_* variables as the hub.
 *
 *   CP="target/quarkus-app/lib/main/*:target/quarkus-app/app/*"
 *   java -cp "$CP" scripts/S3Cli.java mb BUCKET
 *   java -cp "$CP" scripts/S3Cli.java put BUCKET KEY FILE      (multipart above 16 MiB, streamed)
 *   java -cp "$CP" scripts/S3Cli.java ls BUCKET [PREFIX]
 *   java -cp "$CP" scripts/S3Cli.java cat BUCKET KEY           (prints a small object, e.g. job.json)
 *   java -cp "$CP" scripts/S3Cli.java get BUCKET KEY FILE
 */
public class S3Cli {

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: S3Cli mb BUCKET | put BUCKET KEY FILE | ls BUCKET [PREFIX] | cat BUCKET KEY | get BUCKET KEY FILE");
            System.exit(2);
        }
        String endpoint = env("HUB_S3_ENDPOINT", "http://127.0.0.1:9000");
        try (S3Client s3 = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .endpointOverride(URI.create(endpoint))
                .region(Region.of(env("HUB_S3_REGION", "us-east-1")))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        env("HUB_S3_ACCESS_KEY", "local-access-key"), env("HUB_S3_SECRET_KEY", "local-secret-key"))))
                .forcePathStyle(Boolean.parseBoolean(env("HUB_S3_PATH_STYLE", "true")))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build()) {
            String bucket = args[1];
            switch (args[0]) {
                case "mb" -> {
                    s3.createBucket(c -> c.bucket(bucket));
                    System.out.println("created s3://" + bucket);
                }
                case "put" -> {
                    Path file = Path.of(args[3]);
                    S3FileUpload.upload(s3, bucket, args[2], file, Files.size(file), "application/octet-stream");
                    System.out.println("uploaded " + file + " to s3://" + bucket + "/" + args[2] + " (" + Files.size(file) + " bytes)");
                }
                case "ls" -> {
                    String prefix = args.length > 2 ? args[2] : "";
                    for (var o : s3.listObjectsV2Paginator(l -> l.bucket(bucket).prefix(prefix)).contents()) {
                        System.out.printf("%12d  %s%n", o.size(), o.key());
                    }
                }
                case "cat" -> System.out.print(s3.getObjectAsBytes(g -> g.bucket(bucket).key(args[2])).asUtf8String());
                case "get" -> {
                    Files.deleteIfExists(Path.of(args[3]));
                    s3.getObject(g -> g.bucket(bucket).key(args[2]), ResponseTransformer.toFile(Path.of(args[3])));
                    System.out.println("saved s3://" + bucket + "/" + args[2] + " to " + args[3]);
                }
                default -> {
                    System.err.println("unknown command " + args[0]);
                    System.exit(2);
                }
            }
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
