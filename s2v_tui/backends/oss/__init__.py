"""Aliyun OSS: hands keyframes to cloud video models as short-lived presigned links."""

from s2v_tui.backends.oss.uploader import OssUploader, object_key

__all__ = ["OssUploader", "object_key"]
