package io.dubhub.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/**
 * {@code @QuarkusTestResource(PostgresLedgerResource.class)}: the hub's ledger on a fresh
 * PostgreSQL database of its own, dropped when the test resource stops.
 */
public class PostgresLedgerResource implements QuarkusTestResourceLifecycleManager {

    private PostgresLedger ledger;

    @Override
    public Map<String, String> start() {
        ledger = PostgresLedger.create();
        return Map.of(
                "hub.ledger.jdbc-url", ledger.jdbcUrl(),
                "hub.ledger.username", ledger.username(),
                "hub.ledger.password", ledger.password());
    }

    @Override
    public void stop() {
        if (ledger != null) {
            ledger.drop();
        }
    }
}
