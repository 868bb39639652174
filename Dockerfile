# Image for docker-compose.yaml: the official Airflow image plus this project's pinned requirements.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt requirements-scale.txt constraints.txt /opt/project/
RUN pip install --no-cache-dir -r /opt/project/requirements.txt -r /opt/project/requirements-scale.txt -c /opt/project/constraints.txt
