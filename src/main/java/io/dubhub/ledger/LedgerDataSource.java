package io.dubhub.ledger;

import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import io.dubhub.config.HubConfig;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.flywaydb.core.Flyway;
import org.jboss.logging.Logger;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The ledger's connection pool. Quarkus fixes a datasource's database kind at build time, but
 * ops choose H2 or PostgreSQL at run time through HUB_LEDGER_JDBC_URL, so the pool is built here
 * from the URL and the schema is brought up to date by Flyway before first use.
 */
@ApplicationScoped
public class LedgerDataSource {

    private static final Logger LOG = Logger.getLogger(LedgerDataSource.class);

    @Inject
    HubConfig config;

    private AgroalDataSource dataSource;
    private String jdbcUrl;
    private boolean postgres;
    /**
     * Statements executed by this process (dubhub_ledger_statements_total). Static: one hub per
     * JVM in production, and the metric must stay the live one when tests restart the app in
     * one JVM (Micrometer keeps the first registration of a name).
     */
    private static final java.util.concurrent.atomic.AtomicLong statementsExecuted = new java.util.concurrent.atomic.AtomicLong();

    @PostConstruct
    void start() {
        jdbcUrl = config.ledger().jdbcUrl().filter(u -> !u.isBlank()).orElseGet(this::defaultH2Url);
        postgres = jdbcUrl.startsWith("jdbc:postgresql:");
        if (!postgres && !jdbcUrl.startsWith("jdbc:h2:")) {
            throw new IllegalStateException("HUB_LEDGER_JDBC_URL must be a jdbc:h2: or jdbc:postgresql: URL, got " + safeUrl());
        }
        try {
            AgroalDataSourceConfigurationSupplier supplier = new AgroalDataSourceConfigurationSupplier()
                    .connectionPoolConfiguration(pool -> pool
                            .minSize(1)
                            .maxSize(config.ledger().maxPoolSize())
                            .acquisitionTimeout(Duration.ofSeconds(30))
                            .validationTimeout(Duration.ofSeconds(30))
                            .connectionFactoryConfiguration(cf -> {
                                cf.jdbcUrl(jdbcUrl).autoCommit(true);
                                cf.connectionProviderClassName(postgres ? "org.postgresql.Driver" : "org.h2.Driver");
                                config.ledger().username().ifPresent(u -> cf.principal(new NamePrincipal(u)));
                                config.ledger().password().ifPresent(p -> cf.credential(new SimplePassword(p)));
                                return cf;
                            }));
            dataSource = AgroalDataSource.from(supplier);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the ledger at " + safeUrl() + ": " + e.getMessage(), e);
        }
        var result = Flyway.configure(Thread.currentThread().getContextClassLoader())
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .load()
                .migrate();
        LOG.infof("Ledger ready: %s (%s), schema version %s, %d migration(s) applied now",
                postgres ? "PostgreSQL" : "H2", safeUrl(), result.targetSchemaVersion, result.migrationsExecuted);
    }

    private String defaultH2Url() {
        Path dir = Path.of(config.dataDir(), "ledger").toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot create the ledger folder " + dir + ": " + e.getMessage(), e);
        }
        // WRITE_DELAY=0: H2 otherwise flushes commits up to 500 ms later, and a hub killed in that
        // window forgets that it just created something billable (found by the crash test).
        return "jdbc:h2:file:" + dir.resolve("dubhub") + ";DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000;WRITE_DELAY=0";
    }

    public Connection connection() throws SQLException {
        return StatementCounting.wrap(dataSource.getConnection(), statementsExecuted);
    }

    /** Statements executed through {@link #connection()} since start (dubhub_ledger_statements_total). */
    public long statementsExecuted() {
        return statementsExecuted.get();
    }

    public java.util.concurrent.atomic.AtomicLong statementCounter() {
        return statementsExecuted;
    }

    public boolean postgres() {
        return postgres;
    }

    /** The URL without user info or password parameters, for logs and health. */
    public String safeUrl() {
        return jdbcUrl.replaceAll("(?i)(password|user)=[^;&]*", "$1=REDACTED");
    }

    @PreDestroy
    void stop() {
        if (dataSource != null) {
            dataSource.close();
        }
    }
}
