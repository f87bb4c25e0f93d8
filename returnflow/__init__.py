"""returnflow: after-sales (returns, refunds, exchanges) as durable Temporal workflows.

This package holds what every process shares: settings, logging, the Temporal
client factory, the command line and the dev-stack launcher.
"""
