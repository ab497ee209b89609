# The course's grader in a container: docker build -t gated-community-grader . (see README: the judge and the walls)
# Run it with --privileged (or --cap-add SYS_ADMIN) so that each learner's kernel gets its own namespaces and user.
FROM python:3.11-slim-bookworm

# util-linux gives unshare and setpriv, the walls around each kernel; mount comes with it.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends util-linux mount \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir --quiet -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --quiet --no-deps --no-build-isolation -e . \
 && python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null \
 && chmod -R go-w /app

# Grading for a transcript needs the walls: refuse to grade without them rather than fall back.
ENV GATED_COMMUNITY_ISOLATION=namespaces
CMD ["python", "-m", "grader.classroom", "--help"]
