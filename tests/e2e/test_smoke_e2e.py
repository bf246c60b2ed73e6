from ..conftest import ROOT_PASSWORD


def test_login_then_recommend(http):
    login = http.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = http.get("/v1/recommendations/male?seed=1", headers=headers)
    assert response.status_code == 200
    assert response.json()["gender"] == "male"
