"""Hourly Top-theta threshold refresh on Spark (Airflow 2.x, apache-airflow-providers-apache-spark)."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

THETACAL_HOME = "/opt/thetacal"
JOBS_JAR = f"{THETACAL_HOME}/lib/thetacal-jobs-0.1.0-SNAPSHOT.jar"
CONF = f"{THETACAL_HOME}/conf/refresh.yaml"
# The output root the first version was calibrated into (`thetacal run`/`calibrate --out`).
OUT = "/data/thetacal/out"

# Spark's module flags for Java 17 (see docs/STACK): the driver needs them as well as the executors.
JAVA_FLAGS = " ".join([
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-modules=jdk.incubator.vector",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
])

with DAG(
    dag_id="thetacal_refresh",
    description="Incremental, gated refresh of Top-theta attention thresholds",
    schedule="17 * * * *",
    start_date=datetime(2026, 11, 23),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    tags=["thetacal"],
) as dag:
    refresh = SparkSubmitOperator(
        task_id="refresh",
        conn_id="spark_default",
        application=JOBS_JAR,
        java_class="io.thetacal.jobs.cli.Thetacal",
        application_args=["refresh", "--conf", CONF, "--out", OUT],
        conf={
            "spark.driver.extraJavaOptions": JAVA_FLAGS,
            "spark.executor.extraJavaOptions": JAVA_FLAGS,
        },
        name="thetacal-refresh",
        verbose=False,
    )
