package io.dubhub.testing;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real S3Proxy (transient, in-memory blob store) running as its own OS process, so the
 * uploads under test cross a socket and meet S3Proxy's own SigV2/SigV4 checks, not ours.
 * The jar is copied to {@code target/emulators} by the pom; its output goes to
 * {@code target/emulators/s3proxy-<port>.log}.
 *
 * <p>Starting takes seconds, so tests normally share one instance per JVM via
 * {@link #shared()}; use {@link #start()} plus {@link #close()} for a private one.
 */
public final class S3ProxyProcess implements AutoCloseable {

    public static final String REGION = "us-east-1";
    private static final System.Logger LOG = System.getLogger(S3ProxyProcess.class.getName());
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);
    private static final int START_ATTEMPTS = 3;

    private static S3ProxyProcess shared;

    private final Process process;
    private final int port;
    private final String accessKey;
    private final String secretKey;
    private final Path propertiesFile;
    private final Path logFile;
    private final Thread shutdownHook;
    private volatile Duration startupTime = Duration.ZERO;
    private volatile S3Client client;
    private volatile S3Presigner presigner;

    private S3ProxyProcess(Process process, int port, String accessKey, String secretKey, Path propertiesFile,
                           Path logFile) {
        this.process = process;
        this.port = port;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.propertiesFile = propertiesFile;
        this.logFile = logFile;
        this.shutdownHook = new Thread(this::destroy, "s3proxy-" + port + "-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The JVM-wide instance, started on first use and stopped by a shutdown hook. */
    public static synchronized S3ProxyProcess shared() {
        if (shared == null || !shared.process.isAlive()) {
            shared = start();
        }
        return shared;
    }

    /** A private instance; the caller closes it. */
    public static S3ProxyProcess start() {
        return start(null);
    }

    /**
     * A private instance that keeps objects as files under {@code dir} (jclouds filesystem
     * provider) instead of in its heap: for objects of hundreds of MiB and more.
     */
    public static S3ProxyProcess startOnFilesystem(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return start(dir.toAbsolutePath());
    }

    private static S3ProxyProcess start(Path filesystemDir) {
        // A free port is only free until someone else binds it; a lost race shows up as an early exit.
        for (int attempt = 1; ; attempt++) {
            try {
                return startOnce(filesystemDir);
            } catch (ExitedEarly e) {
                if (attempt == START_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private static S3ProxyProcess startOnce(Path filesystemDir) {
        Path dir = emulatorsDir();
        Path jar = dir.resolve("s3proxy.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("S3Proxy jar not found at " + jar.toAbsolutePath()
                    + "; run ./mvnw -B process-test-resources once to fetch it");
        }
        int port = freePort();
        String accessKey = "AK" + randomHex(9).toUpperCase();
        String secretKey = randomHex(20);
        Path logFile = dir.resolve("s3proxy-" + port + ".log");
        Path propertiesFile = writeProperties(port, accessKey, secretKey, filesystemDir);
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(java,
                // Small and quick to start: the machine is shared and the store holds a few test objects.
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", jar.toAbsolutePath().toString(),
                "--properties", propertiesFile.toString());
        long started = System.nanoTime();
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(logFile.toFile())
                    .start();
        } catch (IOException e) {
            deleteQuietly(propertiesFile);
            throw new UncheckedIOException("cannot launch " + String.join(" ", command), e);
        }
        S3ProxyProcess s3 = new S3ProxyProcess(process, port, accessKey, secretKey, propertiesFile, logFile);
        try {
            await("S3Proxy on port " + port + " answering a signed ListBuckets")
                    .atMost(START_DEADLINE)
                    .pollInterval(Duration.ofMillis(200))
                    .failFast("S3Proxy exited during startup", () -> !process.isAlive())
                    .ignoreExceptions()
                    .until(() -> portAccepts(port) && s3.answersListBuckets());
        } catch (RuntimeException | AssertionError e) {
            boolean exited = !process.isAlive();
            s3.close();
            String message = "S3Proxy did not start on port " + port + " (" + e.getMessage() + "); log "
                    + logFile + ":\n" + s3.logTail();
            throw exited ? new ExitedEarly(message, e) : new IllegalStateException(message, e);
        }
        s3.startupTime = Duration.ofNanos(System.nanoTime() - started);
        LOG.log(System.Logger.Level.INFO, "S3Proxy ready at {0} after {1} ms (log {2})",
                s3.endpoint(), String.valueOf(s3.startupTime.toMillis()), logFile);
        return s3;
    }

    private static final class ExitedEarly extends IllegalStateException {
        ExitedEarly(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private boolean answersListBuckets() {
        client().listBuckets();
        return true;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public int port() {
        return port;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    public String region() {
        return REGION;
    }

    public Path logFile() {
        return logFile;
    }

    /** Wall time from launching the JVM to the first successful signed ListBuckets. */
    public Duration startupTime() {
        return startupTime;
    }

    /** Path-style client with static credentials; checksums only where S3 requires them. */
    public S3Client client() {
        S3Client c = client;
        if (c == null) {
            synchronized (this) {
                if (client == null) {
                    client = S3Client.builder()
                            .endpointOverride(endpoint())
                            .region(Region.of(REGION))
                            .credentialsProvider(credentials())
                            .forcePathStyle(true)
                            // Since SDK 2.30 every PutObject/UploadPart gets a CRC trailer by default;
                            // S3Proxy and the providers' presigned flows do not need it.
                            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                            .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(60))
                                    .addExecutionInterceptor(new io.dubhub.s3.NoExpectContinue()))
                            .build();
                }
                c = client;
            }
        }
        return c;
    }

    /** SigV4 presigner for the same endpoint, path style (no bucket subdomains on 127.0.0.1). */
    public S3Presigner presigner() {
        S3Presigner p = presigner;
        if (p == null) {
            synchronized (this) {
                if (presigner == null) {
                    presigner = S3Presigner.builder()
                            .endpointOverride(endpoint())
                            .region(Region.of(REGION))
                            .credentialsProvider(credentials())
                            .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                            .build();
                }
                p = presigner;
            }
        }
        return p;
    }

    /**
     * Empties and removes a bucket (objects and unfinished multipart uploads), so a test class
     * does not leave megabytes in the shared in-memory store for the rest of the run.
     */
    public void deleteBucket(String bucket) {
        S3Client c = client();
        c.listMultipartUploadsPaginator(l -> l.bucket(bucket)).uploads().forEach(u ->
                c.abortMultipartUpload(a -> a.bucket(bucket).key(u.key()).uploadId(u.uploadId())));
        c.listObjectsV2Paginator(l -> l.bucket(bucket)).contents().forEach(o ->
                c.deleteObject(d -> d.bucket(bucket).key(o.key())));
        c.deleteBucket(d -> d.bucket(bucket));
    }

    /** Creates the bucket if it does not exist yet; returns its name. */
    public String createBucket(String bucket) {
        try {
            client().createBucket(b -> b.bucket(bucket));
        } catch (software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException ignored) {
            // Shared instance: another test class made it first.
        }
        return bucket;
    }

    private StaticCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey));
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook runs destroy() anyway.
        }
        destroy();
    }

    private void destroy() {
        S3Client c = client;
        if (c != null) {
            c.close();
        }
        S3Presigner p = presigner;
        if (p != null) {
            p.close();
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteQuietly(propertiesFile);
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    static Path emulatorsDir() {
        Path dir = Paths.get(System.getProperty("dubhub.emulators.dir", "target/emulators"));
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path writeProperties(int port, String accessKey, String secretKey, Path filesystemDir) {
        Properties props = new Properties();
        props.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
        props.setProperty("s3proxy.authorization", "aws-v2-or-v4");
        props.setProperty("s3proxy.identity", accessKey);
        props.setProperty("s3proxy.credential", secretKey);
        if (filesystemDir == null) {
            props.setProperty("jclouds.provider", "transient");
        } else {
            props.setProperty("jclouds.provider", "filesystem");
            props.setProperty("jclouds.filesystem.basedir", filesystemDir.toString());
        }
        props.setProperty("jclouds.identity", accessKey);
        props.setProperty("jclouds.credential", secretKey);
        try {
            Path file = Files.createTempFile("s3proxy-" + port + "-", ".properties",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                props.store(out, "dubhub test S3Proxy");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean portAccepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // A temp file; the OS cleans it eventually.
        }
    }
}
